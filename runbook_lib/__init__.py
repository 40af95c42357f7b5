"""runbook_lib: executable drills for Napoleon AI's Production Operations Guide.

One chapter's name runs through the features, the steps and the procedures
(``features/backup_recovery.feature``, ``steps/backup_recovery.py``,
``procedures/backup_recovery/``). The rooms, from the guide to the evidence:

- ``guide/``: the guide as a typed, frozen model (Markdown, units, consistency checks, drift,
  coverage) and the one reader of the feature files;
- ``world/``: what the drills act on (a real PostgreSQL, commands, an HTTP client, clocks,
  the hermetic guard, redaction, the seeded dataset, live targets);
- ``procedures/``: one module or package per guide chapter, the operator's work as code;
- ``monitoring/``: alert rules generated from the guide, the PromQL evaluator, promtool;
- ``sim/``: the simulations of S3, Supabase, Vercel, Slack, Statuspage, SendGrid, Stripe, OpenAI;
- ``evidence/``: records, the findings catalogue, the reports and their template;
- ``drill/``: the ``runbook`` command, its one options type, the runner, the pytest plugin and
  its fixtures, setup and doctor, the fault registry;
- ``features/``, ``steps/`` and ``defaults/`` (the guide and configuration) ship as package data;
  ``paths.py`` resolves every path and ``errors.py`` is the one error tree.
"""

__version__ = "0.1.0"
