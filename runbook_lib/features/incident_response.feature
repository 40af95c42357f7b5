@guide:incident-response @control:SOC2-CC7.3 @control:SOC2-CC7.4 @control:SOC2-CC7.5 @control:ISO-5.24 @control:ISO-5.25 @control:ISO-5.26
Feature: Incident response: the right severity, the right people, on time
  Severities, response deadlines, the escalation ladder, its contacts and the channels all come
  from the guide. Time runs on a virtual clock, so a day of escalation takes milliseconds and every
  boundary is exact. Pages are judged as the pager rang them, messages as Slack, the status page
  and the email provider received them, and when.

  Background:
    Given the operations guide
    And the simulated cloud

  @guide:severity-levels
  Scenario Outline: Incident facts map to the guide's severity levels, the worse level winning
    When an incident is reported with "<facts>"
    Then it is classified <level>

    Examples:
      | facts                                      | level |
      | service down                               | P0    |
      | data loss                                  | P0    |
      | major functionality broken                 | P1    |
      | minor functionality issue                  | P2    |
      | cosmetic issue                             | P3    |
      | performance degradation                    | P3    |
      | performance degradation, data loss         | P0    |
      | cosmetic issue, major functionality broken | P1    |

  @guide:response-timeline @guide:escalation-matrix
  Scenario Outline: An unacknowledged incident escalates at its response deadline, not a second before
    Given a <level> incident was opened and its first escalation level paged
    When the clock reaches <offset> the <level> response deadline
    Then <pages> escalation levels have been paged

    Examples:
      | level | offset          | pages |
      | P0    | 1 second before | 1     |
      | P0    | exactly         | 2     |
      | P0    | 1 second after  | 2     |
      | P1    | 1 second before | 1     |
      | P1    | exactly         | 2     |
      | P2    | 1 second before | 1     |
      | P2    | exactly         | 2     |
      | P3    | 1 second before | 1     |
      | P3    | exactly         | 2     |
      | P3    | 1 second after  | 2     |

  @guide:escalation-matrix @guide:escalation-procedures
  Scenario: Nobody acknowledges a P0: the escalation climbs every level in order, one deadline apart
    Given a P0 incident was opened and its first escalation level paged
    When 2 hours pass without acknowledgement
    Then the pages went to every level of the guide's Escalation Matrix in order
    And each page came one P0 response deadline after the previous one
    And the On-Call Engineer was paged at the guide's "On-Call" number

  @guide:response-timeline
  Scenario: A P1 upgraded to P0 after 15 unacknowledged minutes escalates at once
    Given a P1 incident was opened and its first escalation level paged
    When 15 minutes pass without acknowledgement
    And the incident is upgraded to P0
    Then 2 escalation levels have been paged

  @guide:escalation-matrix
  Scenario: Acknowledgement stops the escalation
    Given a P1 incident was opened and its first escalation level paged
    When the clock reaches 1 second before the P1 response deadline
    And the incident is acknowledged
    And 1 day passes
    Then 1 escalation levels have been paged

  @guide:emergency-contacts @guide:technical-team @finding:GUIDE-CONTACT-MISSING
  Scenario: Every escalation level has an emergency contact
    Then every escalation level has a contact in a valid format

  @guide:external-services
  Scenario: Every external service has a support address
    Then every external service support contact is a valid email address

  @guide:communication-channels @control:SOC2-CC2.3
  Scenario: A P0 outage with customer impact reaches every channel the guide names
    Given a P0 incident was opened and its first escalation level paged
    When the incident is announced with external impact
    Then the guide's internal Slack channel received a message naming the severity, the incident and its status
    And the status page shows the incident as "investigating"
    And the customer list was emailed about the incident
    And stakeholders were emailed directly as the guide says for P0
    And Slack, the status page and email heard of it within the P0 response deadline
    And no message carries a credential

  @guide:communication-channels @control:SOC2-CC2.3
  Scenario: A P2 issue without customer impact stays internal
    Given a P2 incident was opened and its first escalation level paged
    When the incident is announced without external impact
    Then the guide's internal Slack channel received a message naming the severity, the incident and its status
    And the status page shows no incident
    And the customer list was not emailed about the incident
    And stakeholders were emailed directly as the guide says for P2

  @guide:communication-channels @control:SOC2-CC2.3
  Scenario Outline: Stakeholders hear directly of exactly the severities the guide lists for them
    Given a <level> incident was opened and its first escalation level paged
    When the incident is announced without external impact
    Then stakeholders were emailed directly as the guide says for <level>

    Examples:
      | level |
      | P0    |
      | P1    |
      | P2    |
      | P3    |

  @guide:security-incident-response @control:ISO-5.28 @control:ISO-5.26
  Scenario: A security incident runs the guide's four phases, evidence locked before remediation
    Given a seeded production database
    And the guide's storage buckets
    When the security team preserves evidence from the database and the logs
    And the security phases run in the guide's order
    Then every phase of the guide was completed in order
    And the preserved evidence cannot be deleted before its retention date

  @guide:security-incident-response @control:ISO-5.28
  Scenario: Remediation without preserved evidence is refused
    When the security team tries to remediate without preserving evidence
    Then the response is refused with "no evidence was preserved"
