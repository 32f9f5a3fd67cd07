from __future__ import annotations

import dataclasses

import pytest

from genbench.baselines.vae import VAEConfig
from genbench.config import Config, require_positive
from genbench.errors import UsageError


@dataclasses.dataclass(frozen=True)
class Example(Config):
    size: int = 3
    rate: float = 0.5
    flag: bool = False
    layers: tuple[int, ...] = (8, 8)
    name: str | None = None

    def validate(self) -> None:
        require_positive(size=self.size)


def test_strings_from_the_command_line_are_coerced_to_the_field_types():
    config = Example.from_options({"size": "7", "rate": "1e-3", "flag": "true", "layers": "64x32", "name": "none"})
    assert config == Example(size=7, rate=1e-3, flag=True, layers=(64, 32), name=None)


def test_json_round_trip():
    config = Example(size=2, layers=(4,))
    assert Example.from_dict(config.to_dict()) == config


def test_unknown_option_names_the_valid_ones():
    with pytest.raises(UsageError, match="unknown option 'sise'.*valid options: size, rate, flag, layers, name"):
        Example.from_options({"sise": 3})


@pytest.mark.parametrize("options, message", [
    ({"size": "0"}, "size must be positive, got 0"),
    ({"size": "three"}, "option size takes an integer"),
    ({"size": "2.5"}, "option size takes an integer"),
    ({"flag": "maybe"}, "option flag takes true or false"),
])
def test_bad_values_are_refused_with_a_sentence(options, message):
    with pytest.raises(UsageError, match=message):
        Example.from_options(options)


def test_configs_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Example().size = 4


def test_vae_config_validates_its_training_options():
    with pytest.raises(UsageError, match=r"a training budget is a name \(smoke, default, paper\), FLOPs"):
        VAEConfig(budget="huge")
    with pytest.raises(UsageError, match="latent_dim must be positive"):
        VAEConfig(latent_dim=0)
