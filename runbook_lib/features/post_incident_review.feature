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
    Then a review document with the guide's five required parts is complete

  @guide:documentation
  Scenario: A review document without a root cause analysis is incomplete, and says so
    Then a review document without "Root cause analysis" is reported missing "Root cause analysis"
