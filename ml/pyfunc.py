"""The MLflow pyfunc wrapper every registered model is logged in."""

from __future__ import annotations

import mlflow.pyfunc


class ServedModel(mlflow.pyfunc.PythonModel):
    """Wraps an ml.models model. `predict` takes a history frame (ml_features_daily rows) and
    answers for its latest date; the serving code calls the wrapped model directly."""

    def __init__(self, model) -> None:
        self.model = model

    def predict(self, context, model_input, params=None):
        return self.model.predict_frame(model_input, model_input["trade_date"].max())
