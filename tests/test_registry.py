from __future__ import annotations

import pytest

from genbench import catalog
from genbench.errors import UnknownNameError
from genbench.model import GenerativeModel
from genbench.registry import Registry


class Base:
    pass


class Thing(Base):
    """A thing. More text."""

    name = "thing"


def test_register_and_get():
    registry = Registry("widget", Base)
    registry.register("thing", Thing)
    assert registry.get("thing") is Thing
    assert registry.names() == ["thing"]
    assert registry.entries()[0].summary == "A thing. More text."


def test_unregister_takes_back_a_registration_and_its_default():
    registry = Registry("widget", Base)
    registry.register("thing", Thing, default=True)
    registry.unregister("thing")
    assert registry.names() == [] and registry.defaults() == () and "thing" not in registry
    registry.register("thing", Thing)  # the name is free again
    with pytest.raises(KeyError, match="'other' is not registered"):
        registry.unregister("other")


def test_every_registry_that_takes_outside_classes_takes_them_one_way():
    outside = [catalog.MODELS, catalog.METRICS, catalog.EXTRACTORS]
    assert all(r.import_paths for r in outside)
    assert [r.entry_point_group for r in outside] == list(catalog.ENTRY_POINTS)


def test_names_are_unique_and_entries_have_the_base():
    registry = Registry("widget", Base)
    registry.register("thing", Thing)
    with pytest.raises(ValueError, match="already registered"):
        registry.register("thing", Thing)
    with pytest.raises(TypeError, match="subclass of Base"):
        registry.register("other", int)
    with pytest.raises(ValueError, match="calls itself 'thing'"):
        registry.register("renamed", Thing)


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(UnknownNameError, match="unknown model 'vea'; valid: .*naive-bayes, pca, .*vae"):
        catalog.MODELS.get("vea")


def test_catalog_registers_models_by_their_own_names():
    for entry in catalog.MODELS.entries():
        assert issubclass(entry.target, GenerativeModel)
        assert entry.target.name == entry.name
