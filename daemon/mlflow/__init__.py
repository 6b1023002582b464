"""MLflow's Model Registry REST API over studbook's use cases (`studbook serve --mlflow-listen`).

Like the gRPC servicers, these modules only translate: MLflow's JSON, filters, stages and
error codes in and out; every rule stays in daemon/app. aiohttp is imported by `app` alone,
and `app` only when the endpoint is asked for, so a daemon without it starts as before.
"""
