"""Every model, seed, snapshot, source, column and macro of the project is described: checked on
the manifest `dbt parse` writes, without a database. (test_quality checks the columns the built
relations actually have against the same descriptions, through `dbt docs generate`'s catalog.)"""

from __future__ import annotations

import json

import pytest

from .warehouse import run_dbt

DOCUMENTED = ("model", "seed", "snapshot", "source")


@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    target = tmp_path_factory.mktemp("dbt_parse")
    # parse renders the profile but never connects: any URL will do
    done = run_dbt("postgresql://postgres@127.0.0.1:1/unused", target, "parse", "--no-partial-parse")
    assert done.ok, done.tail()
    return json.loads((target / "manifest.json").read_text())


def project_nodes(manifest) -> dict[str, dict]:
    nodes = {**manifest["nodes"], **manifest["sources"]}
    return {unique_id: node for unique_id, node in nodes.items()
            if node["resource_type"] in DOCUMENTED and node["package_name"] == "tickerhouse"}


def undocumented(manifest) -> list[str]:
    missing = []
    for unique_id, node in project_nodes(manifest).items():
        if not node.get("description", "").strip():
            missing.append(unique_id)
        if not node["columns"]:
            missing.append(f"{unique_id}: no columns declared")
        missing += [f"{unique_id}.{name}" for name, column in node["columns"].items()
                    if not column.get("description", "").strip()]
    missing += [unique_id for unique_id, macro in manifest["macros"].items()
                if macro["package_name"] == "tickerhouse" and not macro.get("description", "").strip()]
    return sorted(missing)


def test_every_model_column_and_macro_is_described(manifest):
    assert {node["resource_type"] for node in project_nodes(manifest).values()} == set(DOCUMENTED)
    assert undocumented(manifest) == []


def test_the_check_fails_on_an_undescribed_model_or_column(manifest):
    model = manifest["nodes"]["model.tickerhouse.fct_daily_bars"]
    model["columns"]["close"]["description"] = " "
    model["description"] = ""
    assert undocumented(manifest) == ["model.tickerhouse.fct_daily_bars",
                                      "model.tickerhouse.fct_daily_bars.close"]
