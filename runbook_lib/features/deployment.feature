@guide:deployment-procedures @control:SOC2-CC8.1 @control:SOC2-CC7.5 @control:ISO-8.32
Feature: Deployment, rollback and application recovery against a faithful Vercel simulation
  The guide's deployment steps run in its order on a real git repository (git and npm as
  written); its vercel lines run as written through the real Vercel CLI (npm vercel, pinned,
  on a pinned Node.js) against the simulated Vercel API, where builds take their time on a
  virtual clock, and the drill's REST client then checks what they did. A line the CLI refuses
  is a finding in its own words, and the corrected line runs through the CLI too. Rollback and
  redeploy are measured against the Application RTO.

  Background:
    Given the operations guide
    And the simulated cloud
    And Napoleon AI's app repository at version 1.1.9

  @guide:pre-deployment-checklist
  Scenario: A release with every checklist item met is allowed
    Given the release's checklist reads:
      """
      - [x] All tests passing
      - [x] Code review completed
      - [x] Security scan clean
      - [x] Performance benchmarks met
      - [x] Documentation updated
      """
    When the release gate judges it against the guide's checklist
    Then the release is allowed

  @guide:pre-deployment-checklist
  Scenario: A release with unmet checklist items is refused, naming them
    Given the release's checklist reads:
      """
      - [x] All tests passing
      - [x] Code review completed
      - [ ] Security scan clean
      - [x] Performance benchmarks met
      """
    When the release gate judges it against the guide's checklist
    Then the release is refused naming "Security scan clean, Documentation updated"

  @guide:deployment-steps
  Scenario: The guide's deployment steps run in order and put the release in production
    Given a healthy production deployment is live
    When the operator runs the guide's deployment steps
    Then all 8 deployment steps passed in the guide's order
    And production serves the released commit

  @guide:deployment-steps @finding:GUIDE-RELEASE-VERSION-MISMATCH
  Scenario: The release branch is named after the version the steps release
    When the operator runs the guide's deployment steps up to "npm version patch"
    Then the release branch names the released version

  @guide:deployment-steps @fault
  Scenario Outline: A failing step stops every later step
    Given a healthy production deployment is live
    And <fault>
    When the operator runs the guide's deployment steps
    Then step <number> failed and every later step did not run
    And production still serves the deployment that was live

    Examples:
      | fault                                   | number |
      | the test suite fails                    | 3      |
      | the build fails                         | 4      |
      | the staging build fails                 | 5      |
      | the staging deployment is unhealthy     | 6      |

  @guide:rollback-procedures
  Scenario: A bad production deploy is rolled back within the Application RTO
    Given a healthy production deployment is live
    And an unhealthy release reached production
    When the operator runs the guide's rollback command
    Then production serves the deployment that was live before the bad release
    And the rollback took no longer than the Application RTO

  @guide:rollback-procedures
  Scenario: Rollback skips an earlier deployment that is unhealthy too
    Given a healthy production deployment is live
    And an unhealthy release reached production
    And an unhealthy release reached production
    When the operator runs the guide's rollback command
    Then production serves the deployment that was live before the bad release

  @guide:rollback-procedures @fault
  Scenario: Rolling back with no earlier healthy deployment is a clear failure
    Given an unhealthy release reached production
    When the operator runs the guide's rollback command
    Then the rollback fails with "no earlier healthy READY production deployment"

  @guide:rollback-procedures @guide:backup--recovery
  Scenario: A migration that damaged data is rolled back to the pre-release backup
    Given a seeded production database
    And the guide's storage buckets
    And a verified backup of it in the backup bucket
    When the release's migration damages the data
    And the operator recovers the database from the newest backup
    Then the recovered database equals the pre-release state

  @guide:recovery-procedures
  Scenario: Application recovery redeploys the last good commit within the Application RTO
    Given a healthy production deployment is live
    And an unhealthy release reached production
    When the operator runs the guide's application recovery command for the last good commit
    Then production is healthy again
    And the redeploy took no longer than the Application RTO

  @fault
  Scenario Outline: Vercel API faults end the release in a clear failure, in the CLI's words
    Given the Vercel API <fault>
    When the operator runs the guide's deployment steps from "vercel --target staging"
    Then step 5 failed naming "<message>"

    Examples:
      | fault                           | message             |
      | answers 503 to every request    | simulated 503       |
      | never answers a request         | fetch failed        |
      | rejects the token               | VERCEL_TOKEN        |
      | keeps the build running forever | cancelled           |
