@guide:performance-optimization @control:SOC2-A1.1 @control:SOC2-CC7.2 @control:ISO-8.6
Feature: Performance optimization: the guide's SQL, run as written on the real database
  The guide's slow-query report and index statements run unchanged against the seeded database
  with pg_stat_statements loaded. Query timings are compared with the guide's database target.

  Background:
    Given the operations guide

  @guide:database-optimization @finding:GUIDE-PGSS-MEAN-TIME @live
  Scenario: The guide's slow-query report runs as written
    Given a seeded production database
    When the operator runs the guide's slow-query SQL as written
    Then it lists the slowest statements

  @guide:database-optimization
  Scenario: The slow-query report works with the corrected columns
    Given a seeded production database
    When the operator runs the guide's slow-query SQL as written
    And the refusal is reported and the working equivalent is run
    Then it lists the slowest statements

  @guide:database-optimization @guide:key-metrics @live
  Scenario: The guide's indexes serve the lookups it cares about, under the database target
    Given a seeded production database of the drill size
    When the operator runs the guide's index SQL as written
    Then the lookup of a user by email uses "idx_users_email"
    And the lookup of emails by user uses "idx_emails_user_id"
    And both lookups average under the guide's database query target

  @guide:database-optimization
  Scenario: CREATE INDEX CONCURRENTLY does not block a writer
    Given a seeded production database
    When a writer arrives while each of the guide's index statements is building
    Then every writer got its lock at once

  @guide:database-optimization @fault
  Scenario: A writer blocked by a table lock during the index build is caught
    Given a seeded production database
    When a writer arrives while each of the guide's index statements is building and a session holds a SHARE lock
    Then a writer was kept waiting for its lock
