@guide:monitoring--alerting @control:SOC2-CC7.2 @control:SOC2-A1.1 @control:ISO-8.16
Feature: Monitoring & alerting: every guide alert and key metric fires at its threshold, from real signals
  The rule file (alerts/napoleon-ai.rules.yml, Prometheus format) is generated from the guide.
  An evaluator with Prometheus semantics replays series minute by minute: pending, firing,
  keep_firing_for, resolution. Signals come from the real database, the simulated S3, Vercel
  deployment URLs and the external APIs; promtool agrees with the evaluator (tests/).

  Background:
    Given the operations guide
    And the alert rules generated from the guide

  @guide:alerting-rules @guide:key-metrics
  Scenario: Every alerting rule and key metric of the guide has one alert at the guide's threshold
    Then every guide alert line and key metric has exactly one alert
    And the committed rule file is what the guide generates

  @guide:key-metrics @guide:alerting-rules
  Scenario Outline: A threshold behaves exactly as the guide words it
    When "<metric>" holds <value> for 10 minutes
    Then "<alert>" is <state> after 10 minutes

    Examples:
      | metric                           | value  | alert                        | state  |
      | avg_response_time_ms             | 499.99 | ResponseTimeTargetBreached   | silent |
      | avg_response_time_ms             | 500    | ResponseTimeTargetBreached   | firing |
      | avg_response_time_ms             | 500.01 | ResponseTimeTargetBreached   | firing |
      | vercel_function_duration_seconds | 10     | VercelFunctionSlow           | silent |
      | vercel_function_duration_seconds | 10.001 | VercelFunctionSlow           | firing |
      | supabase_query_mean_ms           | 99.99  | DatabaseQueryTargetBreached  | silent |
      | supabase_query_mean_ms           | 100    | DatabaseQueryTargetBreached  | firing |
      | openai_response_seconds          | 1.999  | AIResponseTimeTargetBreached | silent |
      | openai_response_seconds          | 2      | AIResponseTimeTargetBreached | firing |

  @guide:key-metrics
  Scenario Outline: A breach is pending until the rule's for duration has passed
    When "avg_response_time_ms" holds 600 from minute 1 to minute 20
    Then "ResponseTimeTargetBreached" is <state> at minute <minute>

    Examples:
      | minute | state   |
      | 0      | silent  |
      | 1      | pending |
      | 5      | pending |
      | 6      | firing  |
      | 20     | firing  |
      | 21     | silent  |

  @guide:alerting-rules
  Scenario Outline: The function error rate alert fires above 5% and keeps firing 5 minutes after recovery
    When Vercel functions fail <percent> percent of 1000 calls a minute from minute 1 to minute 20
    Then "VercelFunctionErrorRate" is <state> at minute <minute>

    Examples:
      | percent | minute | state   |
      | 4       | 15     | silent  |
      | 6       | 5      | pending |
      | 6       | 15     | firing  |
      | 6       | 24     | firing  |
      | 6       | 27     | silent  |

  @guide:key-metrics
  Scenario Outline: The error-rate target alert fires when requests fail at 1% or more
    When the app's HTTP requests fail <percent> percent of 1000 calls a minute from minute 1 to minute 20
    Then "ErrorRateTargetBreached" is <state> at minute 15

    Examples:
      | percent | state  |
      | 0.9     | silent |
      | 1.1     | firing |

  @guide:alerting-rules
  Scenario Outline: Slow queries in the real database make the query alert fire; normal load does not
    Given a seeded production database
    When the application runs <load> against the database for 7 minutes
    Then "SupabaseSlowStatement" is <state> after 7 minutes

    Examples:
      | load                                      | state  |
      | lookups that take about 1 ms              | silent |
      | a report that sleeps 150 ms per statement | firing |

  @guide:alerting-rules @guide:communication-channels
  Scenario: A stopped database makes the connection alert fire, and every channel told hears it resolve when restarted
    The alerts go to a real Alertmanager running the committed configuration: each channel that
    heard the database down hears it resolved within Alertmanager's group interval (5 minutes).
    Given a throwaway PostgreSQL server
    And a seeded production database on it
    And the simulated cloud
    And a real Alertmanager running the committed configuration
    When the database is probed every minute, stopped at minute 3 and restarted at minute 8
    Then "SupabaseDatabaseDown" is silent at minute 2
    And "SupabaseDatabaseDown" is pending at minute 3
    And "SupabaseDatabaseDown" is firing at minute 5
    And "SupabaseDatabaseDown" is silent at minute 9
    When Alertmanager is sent the evaluator's alerts until minute 16
    Then every channel that heard "SupabaseDatabaseDown" fire heard it resolved within Alertmanager's group interval
    And the status page incident opened for "SupabaseDatabaseDown" is resolved

  @guide:alerting-rules
  Scenario Outline: Storage beyond its quota makes the quota alert fire
    Given the guide's storage buckets
    When uploads fill the storage bucket to <percent> percent of its quota
    Then "SupabaseStorageQuotaExceeded" is <state> after 5 minutes

    Examples:
      | percent | state  |
      | 90      | silent |
      | 100     | firing |
      | 105     | firing |

  @guide:alerting-rules @guide:deployment-steps
  Scenario Outline: A failed Vercel build makes the build alert fire
    Given the simulated cloud
    When <builds> production builds run on Vercel and <failed> of them fail
    Then "VercelBuildFailed" is <state> after 3 minutes

    Examples:
      | builds | failed | state  |
      | 3      | 0      | silent |
      | 3      | 1      | firing |

  @guide:key-metrics
  Scenario Outline: An outage of production burns the uptime error budget and pages
    Given the simulated cloud
    When synthetic checks probe production every minute for 70 minutes with an outage of <outage> minutes at the end
    Then "UptimeErrorBudgetBurn" is <state> after 70 minutes

    Examples:
      | outage | state  |
      | 0      | silent |
      | 10     | firing |

  @guide:alerting-rules
  Scenario Outline: External service failures are counted from real calls and alert
    Given the simulated cloud
    When <calls>
    Then "<alert>" is <state> after 3 minutes

    Examples:
      | calls                                                | alert             | state  |
      | 20 OpenAI calls succeed                              | OpenAIApiFailures | silent |
      | OpenAI answers 500, 429 and no answer among 20 calls | OpenAIApiFailures | firing |

  @guide:alerting-rules
  Scenario Outline: Email delivery failures are counted from the events SendGrid posts to our webhook
    The guide's "Email delivery failures" counts every email that did not reach its recipient:
    bounced or dropped, as SendGrid's Event Webhook tells our receiver, and sends SendGrid refused.
    Given the simulated cloud
    And our event webhook is subscribed to SendGrid's delivery events
    When the app sends 10 emails through SendGrid, <missing> of them to mailboxes that do not exist
    And SendGrid posts its delivery events to our webhook
    Then SendGrid's events told our webhook the fate of 10 emails
    And "EmailDeliveryFailures" is <state> after 3 minutes

    Examples:
      | missing | state  |
      | 0       | silent |
      | 2       | firing |

  @guide:alerting-rules
  Scenario: SendGrid refusing every send makes the email alert fire, though no event arrives
    Given the simulated cloud
    And our event webhook is subscribed to SendGrid's delivery events
    And SendGrid answers 500 to every send
    When the app sends 10 emails through SendGrid, 0 of them to mailboxes that do not exist
    And SendGrid posts its delivery events to our webhook
    Then SendGrid's events told our webhook the fate of 0 emails
    And "EmailDeliveryFailures" is firing after 3 minutes

  @guide:alerting-rules
  Scenario Outline: Stripe webhook failures are counted by our endpoint, which verifies Stripe's signatures
    Our endpoint checks Stripe-Signature as Stripe's libraries do: any v1 signature made with its
    secret, a timestamp at most 5 minutes old; every delivery it does not answer with a 2xx counts.
    Given the simulated cloud
    And our webhook endpoint is registered with Stripe for invoice.paid events
    When <deliveries>
    Then our endpoint accepted 10 deliveries and refused <refused>
    And "StripeWebhookFailures" is <state> after 3 minutes

    Examples:
      | deliveries                                                                                                   | refused | state  |
      | Stripe delivers 10 invoice.paid events to our endpoint                                                       | 0       | silent |
      | Stripe delivers 10 invoice.paid events and someone else posts 1 signed with a secret of its own              | 1       | firing |
      | Stripe delivers 10 invoice.paid events and someone posts the last one again 10 minutes later                 | 1       | firing |
      | Stripe rolls our endpoint's signing secret, keeping the old one 24 hours, and delivers 10 invoice.paid events | 0       | silent |

  @guide:communication-channels @guide:severity-levels @guide:response-timeline
  Scenario: The committed Alertmanager configuration is what the guide generates, and Alertmanager's own tool accepts it
    Routes by severity, receivers for the guide's channels, repeat intervals at each level's
    response time, and inhibition derived from the rule catalogue (alerts/alertmanager.yml).
    Then the committed Alertmanager configuration is what the guide generates
    And amtool accepts the committed Alertmanager configuration
    And amtool routes every severity of the deployed rules to the receiver the guide calls for

  @guide:communication-channels @control:SOC2-CC7.3
  Scenario Outline: A firing alert reaches exactly the guide's channels for its severity, through a real Alertmanager
    Alertmanager 0.25 runs the committed configuration on loopback, its timers and the scenario's
    clock sped up alike; Slack and the status page bridge are reached over HTTPS through the
    drill's proxy, email over SMTP with STARTTLS at SendGrid's relay: what each simulation
    received decides.
    Given the simulated cloud
    And a real Alertmanager running the committed configuration
    When "<metric>" holds <value> for 10 minutes
    And Alertmanager is sent the evaluator's alerts until minute 10
    Then the guide's incident channel was told "<alert>" is firing, naming its severity and "<section>"
    And every channel the guide names for the alert's severity heard "<alert>", and no other channel did
    And no notification carries a credential

    Examples:
      | metric               | value | alert                      | section        |
      | supabase_db_up       | 0     | SupabaseDatabaseDown       | Alerting Rules |
      | avg_response_time_ms | 600   | ResponseTimeTargetBreached | Key Metrics    |

  @guide:key-metrics @guide:communication-channels
  Scenario: The uptime alert's page windows reach the incident channel grouped in one notification
    Both windows that page (1h/5m and 6h/30m) fire during a 30-minute outage; Alertmanager groups
    alerts by name, so one notification lists them together.
    Given the simulated cloud
    And a real Alertmanager running the committed configuration
    When synthetic checks probe production every minute for 70 minutes with an outage of 30 minutes at the end
    And Alertmanager is sent the evaluator's alerts until minute 64
    Then one notification to the guide's incident channel lists every page window of "UptimeErrorBudgetBurn"

  @guide:response-timeline @guide:communication-channels
  Scenario: A critical alert that keeps firing is told again whenever the guide's P0 response falls due
    Given the simulated cloud
    And a real Alertmanager running the committed configuration
    When "supabase_db_up" holds 0 for 30 minutes
    And Alertmanager is sent the evaluator's alerts until minute 30
    Then the guide's incident channel heard "SupabaseDatabaseDown" again each time its level's response was due

  @guide:alerting-rules @guide:communication-channels
  Scenario Outline: A database that is down silences its slow-statement alert; an up one does not
    Given the simulated cloud
    And a real Alertmanager running the committed configuration
    When "supabase_statement_mean_ms" holds 150 and "supabase_db_up" holds <up>, both for 10 minutes
    And Alertmanager is sent the evaluator's alerts until minute 10
    Then the guide's incident channel heard "SupabaseSlowStatement" fire <times> times, Alertmanager holding it <state>

    Examples:
      | up | times | state     |
      | 0  | 0     | inhibited |
      | 1  | 1     | active    |

  @guide:communication-channels @fault
  Scenario: Slack answering 500 is retried by Alertmanager, which counts the failures; the other channels still hear
    Given the simulated cloud
    And Slack's webhook answers 500 to every post
    And a real Alertmanager running the committed configuration
    When "supabase_db_up" holds 0 for 25 minutes
    And Alertmanager is sent the evaluator's alerts until minute 25
    Then Slack answered Alertmanager 500 more than once and posted nothing into the guide's incident channel
    And Alertmanager counts its failed Slack requests
    And the status page and the guide's emails still heard "SupabaseDatabaseDown"

  @guide:key-metrics @guide:alerting-rules @finding:GUIDE-ALERT-ERROR-RATE-GAP
  Scenario: The alerting rules catch every breach of the key metric targets
    Then no error rate breaks the target without tripping the guide's alert

  @guide:key-metrics @guide:recovery-time-objectives-rto @finding:GUIDE-UPTIME-VS-RTO
  Scenario: Every recovery time objective fits in the uptime target's monthly error budget
    Then every component's RTO fits in the monthly downtime budget of the uptime target
