@guide:recovery-time-objectives-rto @control:SOC2-A1.3 @control:SOC2-CC7.5 @control:ISO-5.30 @control:ISO-8.13
Feature: Recovery objectives: restores meet the guide's RTO, backups its RPO, measured
  The clock runs from "disaster declared" to "restored, verified and accepting queries".
  The database is recovered by two paths, each labelled in the evidence: the guide's (Supabase's
  backup is plain SQL, which only psql restores, in one stream) and the corrected one (a
  custom-format dump restored with pg_restore -j N). Drills restore a small database, so each
  path's measured time also predicts its time at production size (RUNBOOK_PRODUCTION_DB_SIZE,
  default 8 GiB): the fixed cost of the same path restoring the schema alone, plus the data bytes
  at the measured throughput; the evidence states what the prediction assumes (storage, network,
  parallelism, model). Both must meet the RTO; the guide's path missing it is a finding.
  RPO is measured on a virtual clock: a writer commits rows, backups run on the
  schedule, disaster strikes at the worst moment, and the loss window is what did not come back.

  @live
  Scenario: Database recovery meets the Database RTO, measured and predicted at production size
    Given a seeded production database of the drill size
    And the guide's storage buckets
    And Supabase's plain SQL backup and a custom-format dump of it in the backup bucket
    When disaster is declared and the operator recovers the database by the guide's path and by the corrected path
    Then each path's recovered database was verified and accepted queries
    And each path's measured recovery time is within the Database RTO
    And each path's recovery time predicted at production size is within the Database RTO

  @guide:database-backups @finding:GUIDE-RPO-DAILY-BACKUPS
  Scenario: The guide's daily database backups meet the Database RPO
    Given a seeded production database
    When backups run on the guide's database backup schedule while a writer commits every minute
    And disaster strikes 1 minute before the next scheduled backup
    Then the data lost is within the Database RPO

  @guide:database-backups
  Scenario: Database backups every 30 minutes would meet the Database RPO
    Given a seeded production database
    When backups run every 30 minutes while a writer commits every minute
    And disaster strikes 1 minute before the next scheduled backup
    Then the data lost is within the Database RPO

  @guide:file-storage-backups
  Scenario: File storage recovery meets the File Storage RTO, measured and predicted at production size
    Given a seeded production database
    And the guide's storage buckets
    And the operator ran the guide's file storage backup command
    And the storage bucket's contents are recorded
    When disaster empties the storage bucket and the operator restores it from today's backup prefix
    Then the storage bucket is byte-identical to what it held before
    And the measured storage recovery time is within the File Storage RTO
    And the storage recovery time predicted at production size is within the File Storage RTO

  @guide:file-storage-backups @finding:GUIDE-STORAGE-BACKUP-UNSCHEDULED
  Scenario: The guide states how often file storage is backed up
    Then the guide's file storage backup schedule is within the File Storage RPO

  @guide:file-storage-backups
  Scenario: A storage sync every 4 hours would meet the File Storage RPO
    Given the guide's storage buckets
    When the storage bucket is synced every 4 hours while users upload a file every 10 minutes
    And disaster strikes 1 minute before the next scheduled sync
    Then the files lost are within the File Storage RPO
