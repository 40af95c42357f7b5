@guide:production-operations-guide @control:SOC2-CC4.1 @control:ISO-8.31
Feature: The drill environment is real where it matters and simulated faithfully elsewhere
  Auditors and engineers need to know what a green drill stands on: a real PostgreSQL server,
  the real aws CLI against a simulated S3, and simulated provider APIs that refuse a request
  without the right credential, exactly as the real services do.

  @live
  Scenario: The drill database is a real PostgreSQL server that records query statistics
    Given a seeded production database
    Then the database server is PostgreSQL 15 or newer
    And pg_stat_statements records the queries the drill runs
    And every seeded user has 20 emails

  Scenario: The real aws CLI reaches the simulated S3
    Given the guide's storage buckets
    When the operator lists "s3://napoleon-ai-storage" with the aws CLI
    Then the listing shows every object in the storage bucket

  Scenario: The simulated Supabase Management API checks credentials like the real one
    Given the simulated cloud
    Then listing backups without a token is refused with 401
    And listing backups with the project's service-role key is refused with 401
    And listing backups with the access token succeeds
