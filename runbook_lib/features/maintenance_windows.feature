@guide:maintenance-windows @control:SOC2-CC8.1 @control:SOC2-CC2.3 @control:ISO-8.32
Feature: Maintenance windows: when they are, for everyone, and who is told beforehand
  UTC is the ground truth ("Sunday 2-4 AM UTC"); viewers anywhere see the same instants in their
  own time, across daylight-saving changes.

  Background:
    Given the operations guide

  @guide:scheduled-maintenance
  Scenario Outline: An instant is inside the weekly window only from 02:00 up to 04:00 UTC on Sunday
    Then "<instant>" is <verdict> a maintenance window

    Examples:
      | instant                   | verdict |
      | 2026-03-01 01:59:59 UTC   | outside |
      | 2026-03-01 02:00:00 UTC   | inside  |
      | 2026-03-01 03:59:59 UTC   | inside  |
      | 2026-03-01 04:00:00 UTC   | outside |
      | 2026-03-02 02:30:00 UTC   | outside |
      | 2026-02-28 21:30:00 -0500 | inside  |

  @guide:scheduled-maintenance
  Scenario Outline: The next window, as a viewer in another time zone sees it across a DST change
    Then the next window after "<after>" starts "<utc>" and a viewer in "<zone>" sees it start "<local>"

    Examples:
      | after                   | utc                     | zone             | local                    |
      | 2026-03-05 12:00:00 UTC | 2026-03-08 02:00:00 UTC | America/New_York | 2026-03-07 21:00:00 EST  |
      | 2026-03-09 12:00:00 UTC | 2026-03-15 02:00:00 UTC | America/New_York | 2026-03-14 22:00:00 EDT  |
      | 2026-03-23 12:00:00 UTC | 2026-03-29 02:00:00 UTC | Europe/Berlin    | 2026-03-29 04:00:00 CEST |
      | 2026-03-27 12:00:00 UTC | 2026-03-29 02:00:00 UTC | Asia/Kolkata     | 2026-03-29 07:30:00 IST  |

  @guide:scheduled-maintenance
  Scenario: The monthly window falls on the first Sunday of the month
    Then the next monthly window after "2026-03-02 00:00:00 UTC" falls on "2026-04-05"

  @guide:scheduled-maintenance @finding:GUIDE-MONTHLY-UNTIMED
  Scenario: The guide states when the monthly window is
    Then the guide's monthly window names its day and time

  @guide:scheduled-maintenance @finding:GUIDE-QUARTERLY-UNSCHEDULED
  Scenario: The guide states when the quarterly window is
    Then the guide's quarterly window names its day and time

  @guide:communication
  Scenario Outline: Everyone the guide names is told before a maintenance window; users only of major changes
    Given the simulated cloud
    When the maintenance notices for <change> change in the next window after "2026-03-05 12:00:00 UTC" go out
    Then the guide's Slack channel got the notice the guide's lead time before the window starts
    And the status page lists the window as scheduled maintenance before it starts
    And users were <emailed> about the window before it starts

    Examples:
      | change    | emailed     |
      | a major   | emailed     |
      | a routine | not emailed |
