@guide:backup--recovery @guide:deployment-procedures @guide:security-procedures @guide:monitoring--alerting @control:SOC2-CC4.1 @control:SOC2-A1.2 @control:ISO-8.9
Feature: Weekly live checks: what an SRE reads from staging every week, changing nothing
  Every scenario is @live: against a live target (runbook drill --target NAME) it reads the
  target's own Supabase project, Vercel project, buckets and deployed rule file through the
  clients the drills use, and writes nothing (its clients refuse before sending a write).
  Limits come from the guide: its backup schedule, its Database RPO, its promises of the data.
  In a simulated run the simulations hold a staging as it should be on a good week;
  tests/test_live_checks.py serves them as a live target's endpoints and breaks one thing at
  a time.

  Background:
    Given the operations guide

  @live @guide:database-backups
  Scenario: Supabase's newest backup is younger than the guide's backup schedule allows
    Given the target's Supabase project as it stands
    When the operator reads the project's backups and backup schedule
    Then the newest completed backup is younger than the guide's database backup interval

  @live @guide:database-backups @guide:recovery-time-objectives-rto
  Scenario: Point-in-time recovery reaches within the Database RPO, or the RPO finding is stated
    Given the target's Supabase project as it stands
    When the operator reads the project's backups and backup schedule
    Then the newest point a restore can reach is within the Database RPO

  @live @guide:rollback-procedures @guide:deployment-steps
  Scenario: Production is a READY deployment whose domains answer healthy
    Given the target's Vercel project as it stands
    When the operator reads the production deployment
    Then production is READY and every domain of it answers healthy

  @live @guide:rollback-procedures
  Scenario: An earlier READY production deployment is there to roll back to
    Given the target's Vercel project as it stands
    When the operator reads the production deployment
    Then an earlier READY production deployment is there to roll back to

  @live @guide:access-management @guide:compliance @guide:recovery-time-objectives-rto
  Scenario: The storage and backup buckets keep what the guide promises of them
    Given the target's buckets as they stand
    When the operator reads both buckets' configuration
    Then every bucket keeps every promise the guide makes of it

  @live @guide:alerting-rules @guide:key-metrics
  Scenario: The deployed alert rules are the rules the guide generates
    Then the deployed rule file holds exactly the rules the guide generates
