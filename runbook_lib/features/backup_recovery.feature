@guide:backup--recovery @control:SOC2-A1.2 @control:SOC2-A1.3 @control:SOC2-CC7.5 @control:ISO-8.13 @control:ISO-5.30
Feature: Backup & Recovery: Napoleon AI gets its data back, with nothing lost
  The guide's backup commands are sent and run as written, against the real PostgreSQL server,
  the real aws CLI and simulations of Supabase and S3. Every restore is proven equal to its
  source, table by table, before it counts as recovered.

  @guide:database-backups @finding:GUIDE-BACKUP-TRIGGER-ENDPOINT
  Scenario: The guide's manual backup trigger starts a backup
    Given the simulated cloud
    When the operator sends the guide's manual backup trigger as written
    Then the Supabase Management API accepts the backup request

  @guide:database-backups @finding:GUIDE-BACKUP-TRIGGER-CREDENTIAL
  Scenario: The credential in the guide's backup trigger is accepted by the Management API
    Given the simulated cloud
    When the operator lists backups with the credential the guide's trigger uses
    Then the Management API accepts the credential

  # The simulated Supabase holds the backup the Given step puts there: what this proves is the
  # operator's recency check against the guide's schedule (a backup too old must be flagged),
  # not that Supabase takes backups; a live run of the same check reads the real project.
  @guide:database-backups
  Scenario Outline: The operator's backup check holds the newest backup to the guide's schedule
    Given the simulated cloud
    And Supabase took its automated daily backup <hours> hours ago
    When the operator lists backups with the Management API access token
    Then the newest completed backup is <verdict> the guide's database backup interval

    Examples:
      | hours | verdict    |
      | 3     | within     |
      | 30    | older than |

  @guide:database-backups
  Scenario: A logical backup lands in the backup bucket with its checksum
    Given a seeded production database
    And the guide's storage buckets
    When the operator takes 2 logical backups with pg_dump and uploads them
    Then the backup bucket lists 2 database backups, newest first
    And each stored backup carries the sha256 and size of its dump file

  @guide:file-storage-backups @live
  Scenario: The guide's aws s3 sync copies every stored file byte for byte
    Given a seeded production database
    And the guide's storage buckets
    When the operator runs the guide's file storage backup command
    Then the backup bucket holds every storage object under today's UTC date
    And every copied object is byte-identical to its original

  @guide:file-storage-backups
  Scenario: Files come back from a dated backup into an emptied storage bucket
    Given a seeded production database
    And the guide's storage buckets
    And the operator ran the guide's file storage backup command
    When the storage bucket is emptied
    And the operator restores the storage bucket from today's backup prefix
    Then the storage bucket is byte-identical to what it held before

  @guide:recovery-procedures @finding:GUIDE-RESTORE-PLAIN-SQL
  Scenario: The guide's pg_restore command, as written, restores Supabase's logical backup
    Given a seeded production database
    And a Supabase-style logical backup "backup.sql" of it
    When the operator runs the guide's database recovery command against the drill server
    Then the guide's command restored the database

  @guide:recovery-procedures
  Scenario: Database recovery from Supabase's logical backup, with the corrected procedure
    Given a seeded production database
    And a Supabase-style logical backup "backup.sql" of it
    When the operator runs the guide's database recovery command against the drill server
    And the refusal is reported and the corrected procedure restores the backup with psql
    Then the restored database equals the backup's source, table by table

  @guide:recovery-procedures @guide:rollback-procedures
  Scenario: The guide's pg_restore command restores a custom-format dump as written
    Given a seeded production database
    And a custom-format dump "backup.sql" of it
    When the operator runs the guide's database recovery command against the drill server
    Then the guide's command restored the database
    And the restored database equals the backup's source, table by table
    And the evidence shows the connection mapping "-h db.supabase.co"

  @fault @guide:recovery-procedures
  Scenario Outline: A damaged backup is refused and never promoted
    Given a seeded production database
    And the guide's storage buckets
    And a verified backup of it in the backup bucket
    When the stored backup is <damage>
    And the operator recovers the database from the newest backup
    Then the recovery fails with "backup corrupted"
    And no database was promoted as recovered

    Examples:
      | damage                                        |
      | corrupted by flipped bytes                    |
      | truncated                                     |
      | corrupted before its checksum was recorded    |
      | truncated before its checksum was recorded    |

  @fault @guide:recovery-procedures
  Scenario Outline: A restore that silently loses data is caught and names the table
    Given a seeded production database
    And the guide's storage buckets
    And a verified backup of it in the backup bucket
    When the restore silently loses <loss>
    And the operator recovers the database from the newest backup
    Then the recovery fails naming the table "<table>"
    And no database was promoted as recovered

    Examples:
      | loss                       | table       |
      | every tenth row of emails  | emails      |
      | the table audit_log        | audit_log   |
      | one subscription           | subscriptions |

  @fault @guide:recovery-procedures
  Scenario: The database server killed in the middle of a restore is detected
    Given a throwaway PostgreSQL server
    And a seeded production database of 24 MB on it
    And the guide's storage buckets
    And a verified backup of it in the backup bucket
    When the server is killed while the restore copies data
    And the operator recovers the database from the newest backup
    Then the recovery fails with "server went away"
    And no database was promoted as recovered

  @fault @guide:database-backups
  Scenario: S3 throttling during the backup upload is survived
    Given a seeded production database
    And the guide's storage buckets
    And S3 answers "503 SlowDown" to the next 2 uploads
    When the operator takes 1 logical backups with pg_dump and uploads them
    Then the throttled uploads were retried
    And each stored backup carries the sha256 and size of its dump file

  @fault @guide:file-storage-backups
  Scenario: An object missing from the storage backup is named
    Given a seeded production database
    And the guide's storage buckets
    And the operator ran the guide's file storage backup command
    When one object disappears from today's backup prefix
    Then verifying the storage backup fails naming the missing key

  @fault @guide:database-backups
  Scenario Outline: Supabase refusing or failing is a clear failure after bounded retries
    Given the simulated cloud
    And Supabase took its automated daily backup 3 hours ago
    And the Management API <fault>
    When the operator lists backups with the Management API access token
    Then listing backups fails with "<message>"
    And the Management API was called at most <attempts> times

    Examples:
      | fault                                   | message               | attempts |
      | rejects the access token                | SUPABASE_ACCESS_TOKEN | 1        |
      | answers 503 to every request            | on all 4 attempts     | 4        |
      | never answers a request                 | without answering     | 4        |

  @fault @guide:database-backups
  Scenario: A transient Management API failure is survived
    Given the simulated cloud
    And Supabase took its automated daily backup 3 hours ago
    And the Management API answers 502 once and then recovers
    When the operator lists backups with the Management API access token
    Then the newest completed backup is within the guide's database backup interval
    And the Management API was called at most 2 times
