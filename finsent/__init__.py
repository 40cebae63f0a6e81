"""finsent: real-time financial news sentiment monitor.

One namespace, in floors; a module imports only from the floors below it::

    finsent.core                      errors, settings, durations, message and alert contracts
    finsent.storage, finsent.models   all SQL; the classifier, training, inference, registry
    finsent.stream                    Kafka wrapper, Faust scoring workers
    finsent.ingest, finsent.alerts    crawlers and publisher; rules, alert lifecycle, webhooks
    finsent.lifecycle                 labeling, retraining, drift, scheduler
    finsent.dashboards                HTTP API, live page, Grafana as code
    finsent.cli, finsent.runtime      the app shell: wiring, the CLI, the embedded services

The stage folders live at the top of the repository and are mapped onto ``finsent.*`` by
setuptools' ``package-dir``. Importing this package imports nothing else.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
