"""What training spent: the FLOPs, optimiser steps, epochs, examples seen and seconds of a model trained by
genbench's training loop (``baselines.training``, which leaves them in the model's ``training_``), beside the
budget that granted them (``genbench.budget``). Every trained model of a run gets the same budget, so these are
the figures that say the table compares families at equal training compute."""

from __future__ import annotations

from genbench.data.splits import Data
from genbench.metric import EvalContext, Metric
from genbench.model import GenerativeModel
from genbench.outputs import Output
from genbench.records import TIMED, Record

OUTPUTS = (
    Output("training_flops", "training FLOPs", "FLOPs"),
    Output("training_steps", "optimiser steps", "steps", style="count"),
    Output("training_epochs", "epochs", "passes over the training set"),
    Output("training_examples", "training examples seen", "examples", style="count"),
    Output("training_seconds", "training time", "s"),
)
FIELDS = {"training_flops": "flops", "training_steps": "steps", "training_epochs": "epochs",
          "training_examples": "examples", "training_seconds": "seconds"}


class TrainingCompute(Metric):
    """The training FLOPs, steps, epochs, examples seen and seconds of a model trained by genbench's loop."""

    name = "training-compute"
    outputs = OUTPUTS

    def compute(self, model: GenerativeModel, data: Data, context: EvalContext) -> list[Record]:
        spent = model.training_
        if not spent:
            return self.not_available(f"{model.name} was not trained by genbench's training loop here (fitted in "
                                      "closed form, trained by its own loop, or loaded from a checkpoint that does "
                                      "not record its training)")
        details = {"budget": spent.get("budget"), "budget_flops": spent.get("budget_flops"),
                   "flops_per_step": spent.get("flops_per_step"), "batch_size": spent.get("batch_size"),
                   "planned_steps": spent.get("planned_steps"), "stopped_early": spent.get("stopped_early"),
                   "counted_by": "torch.utils.flop_counter, the first optimiser step"}
        return [Record(metric, float(spent[field]), estimator=TIMED if field == "seconds" else "counted",
                       details=details) for metric, field in FIELDS.items()]
