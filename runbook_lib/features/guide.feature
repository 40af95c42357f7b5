@guide:production-operations-guide @control:SOC2-CC2.1 @control:ISO-5.37
Feature: The guide states every objective, threshold and procedure the drills rely on
  Every drill takes its numbers and commands from the guide. These scenarios prove that the
  guide states them, well-formed, and that its parts agree with each other. The figures written
  here are the guide's: change the guide and these scenarios must change with it.

  Background:
    Given the operations guide

  @guide:recovery-time-objectives-rto @control:SOC2-A1.3 @control:ISO-5.30
  Scenario: Every component has a recovery time and a recovery point objective
    Then the guide states these recovery objectives:
      | component     | RTO        | RPO     |
      | Application   | 5 minutes  | 1 hour  |
      | Database      | 15 minutes | 1 hour  |
      | File Storage  | 30 minutes | 4 hours |
      | External APIs | 1 hour     | 1 hour  |

  @guide:severity-levels @guide:response-timeline @control:SOC2-CC7.3 @control:ISO-5.25
  Scenario: Every severity level has a response time, and more severe means faster
    Then the guide states these response times:
      | level | response   |
      | P0    | 15 minutes |
      | P1    | 1 hour     |
      | P2    | 4 hours    |
      | P3    | 24 hours   |
    And no severity level gets a slower response than a less severe one

  @guide:escalation-matrix @guide:escalation-procedures @control:SOC2-CC7.4 @control:ISO-5.24
  Scenario: The escalation matrix and the escalation procedures name the same ladder
    Then the escalation ladder is "On-Call Engineer, Senior Developer, CTO, CEO"
    And the escalation matrix and the escalation procedures agree level by level

  @guide:key-metrics @guide:alerting-rules @control:SOC2-CC7.2 @control:ISO-8.16
  Scenario: Every key metric and threshold alert states a comparator and a threshold
    Then the guide states these key metric targets:
      | metric               | target   |
      | Uptime               | >= 99.9% |
      | Response Time        | < 500ms  |
      | Error Rate           | < 1%     |
      | Database Performance | < 100ms  |
      | AI Response Time     | < 2s     |
    And the alerting rules come from the sources "Vercel, Supabase, External"
    And the guide states these alert thresholds:
      | rule                    | threshold |
      | Function execution time | > 10s     |
      | Function error rate     | > 5%      |

  @guide:backup--recovery @guide:deployment-procedures @guide:rollback-procedures @control:SOC2-CC8.1
  Scenario: The guide gives the commands the drills run
    Then the backup commands run "curl, aws"
    And the recovery commands run "pg_restore, vercel"
    And the rollback commands run "vercel, pg_restore"
    And the deployment steps run "git, npm, npm, npm, vercel, npm, vercel, vercel" in order

  @guide:post-incident-review @control:SOC2-CC7.5 @control:ISO-5.27
  Scenario: Post-incident review deadlines come in order
    Then the review deadlines are "24 hours, 1 week, 2 weeks"
    And no review step is due after the step that follows it

  @guide:table-of-contents @finding:GUIDE-TOC-INCOMPLETE
  Scenario: The table of contents leads to every procedure section
    Then every table of contents link leads to a heading
    And every top-level section is listed in the table of contents

  @guide:production-operations-guide
  Scenario: The feature files quote the guide's figures exactly
    Then no feature file quotes a figure that differs from the guide
