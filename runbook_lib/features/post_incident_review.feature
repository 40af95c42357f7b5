@guide:post-incident-review @control:SOC2-CC7.5 @control:ISO-5.27
Feature: Post-incident review: every incident is reviewed on time, and the review is complete
  Deadlines run from the moment the incident was resolved; the required parts of a review come
  from the guide's Documentation list.

  Background:
    Given the operations guide

  @guide:review-process
  Scenario: The review deadlines come from the guide
    When an incident is resolved on "2026-03-02 10:00 UTC"
    Then the review steps are due:
      | step         | due                  |
      | Immediate    | 2026-03-03 10:00 UTC |
      | Detailed     | 2026-03-09 10:00 UTC |
      | Action Items | 2026-03-16 10:00 UTC |

  @guide:review-process
  Scenario Outline: Overdue review steps are flagged, on-time ones are not
    When an incident is resolved on "2026-03-02 10:00 UTC"
    And the technical debrief is held <when>
    Then <count> review steps are flagged as overdue on "<now>"

    Examples:
      | when                    | now                  | count |
      | 23 hours after          | 2026-03-04 10:00 UTC | 0     |
      | 24 hours after          | 2026-03-04 10:00 UTC | 0     |
      | 25 hours after          | 2026-03-04 10:00 UTC | 1     |
      | 23 hours after          | 2026-03-10 10:00 UTC | 1     |
      | 23 hours after          | 2026-03-17 10:00 UTC | 2     |

  @guide:documentation
  Scenario: A review document with every required part passes
    Given a review document:
      """
      # Review of INC-0042: email sync down for 38 minutes

      ## Incident Timeline
      - 09:12 UTC: function error rate alert fired; on-call paged
      - 09:20 UTC: acknowledged, incident opened as P1
      - 09:50 UTC: rollback to the previous deployment; error rate back under 1%

      ## Root Cause Analysis
      A migration dropped an index the sync query relied on; queries timed out after 10 s.

      ## Impact Assessment
      **Users affected**: 1,240 could not sync for up to 38 minutes; no data was lost.

      ## Remediation Steps
      Rolled back, then recreated the index concurrently before redeploying.

      ## Prevention Measures
      Migrations that drop an index now need a query plan review.
      """
    Then the review document has every part the guide's Documentation list requires

  @guide:documentation
  Scenario: A review document without a root cause analysis is incomplete, and says so
    Given a review document:
      """
      # Review of INC-0043: slow inbox

      ## Incident Timeline
      - 14:02 UTC: response time alert fired

      ## Impact Assessment
      Inbox loads took 3 s for 20 minutes.

      ## Remediation Steps
      Scaled the connection pool.

      ## Prevention Measures
      Alert on pool saturation.
      """
    Then the review document is reported missing "Root cause analysis"
