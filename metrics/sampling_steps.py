"""The quality-steps trade-off of a many-step sampler: FID and samples/s against the number of steps S.

For each S in ``steps`` the model samples with S network passes (the diffusion model's sampler's steps: a model
offers this by a ``sampling_steps(steps)`` context manager and ``sampling_steps_refusal(steps)``): n samples
drawn and timed after an untimed warm-up draw (synchronised on the GPU), their FID in the fidelity metric's
feature space against the same reference set (``genbench.metrics.fidelity``). The shape of
Song et al. (2021), Table 1, measured on the run's data. Each FID carries its bootstrap standard error over
the samples (``bootstrap`` replicates, as the fidelity metric's). Records: ``steps_fid[steps=S]`` and
``steps_samples_per_second[steps=S]``; ``figures/sampling-steps.png`` draws both against S.

Not a default metric: at S = 1000 one pass over n = 359 digits costs as much as training the model.
"""

from __future__ import annotations

import dataclasses
import time

from genbench.config import require, require_positive
from genbench.data.splits import Data
from genbench.infra.devices import synchronize
from genbench.metric import EvalContext, Metric
from genbench.metrics.bootstrap import Spread, bootstrap
from genbench.metrics.feature_space import FeatureSpace, extract_features
from genbench.metrics.fidelity import Fidelity, fid_refusal
from genbench.metrics.frechet import frechet_to
from genbench.metrics.samples import SampleOptions, figure_record, sample_provenance
from genbench.model import Capability, GenerativeModel
from genbench.outputs import HIGHER, LOWER, Output
from genbench.records import TIMED, Record

FID, SPEED = "steps_fid", "steps_samples_per_second"


def at_steps(metric: str, steps: int) -> str:
    """The name of one point of the sweep: ``steps_fid[steps=20]``."""
    return f"{metric}[steps={steps}]"


@dataclasses.dataclass(frozen=True)
class StepsOptions(SampleOptions):
    steps: tuple[int, ...] = (10, 20, 50, 100, 1000)
    extractor: str = "auto"

    def validate(self) -> None:
        super().validate()
        require(len(self.steps) > 0, "steps needs at least one number of sampling steps")
        require_positive(**{f"steps[{i}]": s for i, s in enumerate(self.steps)})


class SamplingSteps(Metric):
    """FID and samples/s of a many-step sampler at each number of steps."""

    name = "sampling-steps"
    timed = True
    config_class = StepsOptions
    requires_any = frozenset({Capability.SAMPLE})
    outputs = (
        Output(FID, "FID by sampling steps", better=LOWER),
        Output(SPEED, "samples/s by sampling steps", "samples/s", HIGHER, log_scale=True),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.space = FeatureSpace(self.config.extractor)

    @property
    def produces(self) -> tuple[str, ...]:
        return tuple(at_steps(m, s) for s in self.config.steps for m in (FID, SPEED))

    def unavailable_reason(self, model: GenerativeModel, data: Data) -> str | None:
        if not hasattr(model, "sampling_steps"):
            return f"{model.name} samples in one pass: it has no steps to trade for quality"
        return self.space.unavailable_reason(data)

    def compute(self, model: GenerativeModel, data: Data, context: EvalContext) -> list[Record]:
        o: StepsOptions = self.config
        split = o.reference_split(data)
        n = o.sample_count(split)
        ref = self.space.reference(data, context, split, n, o.batch_size)
        if ref is None:
            return self.not_available(self.space.extractor_for(data, context)[1] or "no feature space")
        details = sample_provenance(n, ref.extractor.describe(), ref.describe(data))
        too_few = fid_refusal(n, ref.n if ref.n is not None else n, ref.extractor)
        if too_few:
            return self.not_available(too_few)
        records = []
        for steps in o.steps:
            reason = model.sampling_steps_refusal(steps)
            if reason:
                records += [Record.not_available(at_steps(m, steps), reason) for m in (FID, SPEED)]
                continue
            with model.sampling_steps(steps):
                model.sample(2, context.generator("warm-up"))  # untimed: first calls pay for lazy setup
                synchronize(model.device)
                start = time.perf_counter()
                x = model.draw(n, context.generator(Fidelity.name), o.batch_size)
                synchronize(model.device)
                seconds = time.perf_counter() - start
            fake = extract_features(ref.module, ref.extractor, ref.extractor.to_input(x), o.batch_size, context.device)
            features = fake.features.to(context.device)
            fid = frechet_to(features, ref.real_stats)
            point = {**details, "steps": steps}
            records.append(figure_record(at_steps(FID, steps), fid, self.fid_spread(features, ref, fid, n, context,
                                                                                   steps),
                                         point, n=n, extractor=ref.extractor.name, estimator="genbench frechet"))
            records.append(Record(at_steps(SPEED, steps), n / seconds, n=n, estimator=TIMED,
                                  details={**point, "seconds": seconds, "batch_size": o.batch_size}))
        return records

    def fid_spread(self, features, ref, fid: float, n: int, context: EvalContext, steps: int) -> Spread | None:
        """The bootstrap of FID over the samples (repeated rows kept once, as the fidelity metric's), or None
        with ``bootstrap=0``; a resample with no more distinct rows than dimensions counts as no figure."""
        replicates = self.config.replicates(n)
        if not replicates:
            return None

        def replicate(rows):
            if len(rows) <= ref.extractor.frechet_dim:
                return {}
            return {"fid": frechet_to(features[rows], ref.real_stats)}

        generator = context.generator(f"{self.name}/bootstrap/{steps}")
        return bootstrap(replicate, [n], replicates, generator, {"fid": fid}, distinct=True).get("fid")
