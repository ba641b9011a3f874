"""Same seed, same numbers: one process, a process pool, and a Dask cluster.

Replication ``r`` always draws from stream ``r`` of ``SeedSequence(seed).spawn(n)``.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from sustain.errors import SustainError
from sustain.simulate import simulate
from tests.simulate.test_crosscheck import two_echelon

KW: dict[str, Any] = dict(days=400, replications=6, seed=0, warmup_days=50)


def _doc(**extra: Any) -> str:
    a = two_echelon(np.random.default_rng(4), n_items=3, subs=True)
    return json.dumps(simulate(a, **KW, **extra).to_dict(), sort_keys=True)


def test_same_seed_same_numbers_serial_and_processes() -> None:
    """seed=0 is a seed; workers=1 and workers=2 give identical documents."""
    one = _doc()
    assert one == _doc()
    assert one == _doc(workers=2)


def test_other_seed_other_numbers() -> None:
    """A different seed changes the results (the seed is used)."""
    a = two_echelon(np.random.default_rng(4), n_items=3, subs=True)
    r0 = simulate(a, **{**KW, "seed": 0})
    r1 = simulate(a, **{**KW, "seed": 1})
    assert not np.array_equal(r0.availability, r1.availability)


def test_replication_r_uses_stream_r() -> None:
    """The first k replications of a longer run are the k replications of a shorter one."""
    a = two_echelon(np.random.default_rng(4), n_items=3, subs=True)
    short = simulate(a, **{**KW, "replications": 3})
    long = simulate(a, **KW)
    np.testing.assert_array_equal(long.availability[:3], short.availability)


def test_dask_local_cluster_same_numbers() -> None:
    """A Dask LocalCluster (2 workers, one thread each) gives the same document."""
    distributed = pytest.importorskip("dask.distributed")
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                 dashboard_address=":0") as cluster,
        distributed.Client(cluster) as client,
    ):
        by_client = _doc(dask_address=client)
        by_address = _doc(dask_address=cluster.scheduler_address)
    assert by_client == _doc()
    assert by_address == by_client


def test_dask_worker_processes_same_numbers() -> None:
    """Worker processes (not threads) on a LocalCluster: still the same document."""
    distributed = pytest.importorskip("dask.distributed")
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                 dashboard_address=":0") as cluster,
        distributed.Client(cluster) as client,
    ):
        doc = _doc(dask_address=client)
    assert doc == _doc()


def test_fleet_without_systems() -> None:
    """A fleet of zero systems has no availability (None, as ``evaluate`` reports)."""
    from dataclasses import replace

    a = two_echelon(np.random.default_rng(4), n_items=2)
    a = replace(a, fleet_count=np.array([0.0, 3.0, 2.0]))
    f = simulate(a, days=50, replications=2, seed=1).to_dict()["fleets"]
    assert (f[0]["count"], f[0]["availability"], f[0]["availability_ci95"]) == (0, None, None)
    assert f[1]["availability"] is not None


def test_progress_called_per_replication() -> None:
    """The progress callback sees every replication, ending at the total."""
    calls: list[tuple[int, int]] = []
    a = two_echelon(np.random.default_rng(4), n_items=2)
    simulate(a, days=100, replications=4, seed=1, progress=lambda d, t: calls.append((d, t)))
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]


@pytest.mark.parametrize(
    ("kw", "needle"),
    [
        (dict(days=0), "days must be a positive number"),
        (dict(warmup_days=500), "warmup_days must be >= 0 and less than days"),
        (dict(replications=0), "replications must be a whole number >= 1"),
        (dict(seed=-1), "seed must be a whole number >= 0"),
        (dict(workers=0), "workers must be a whole number >= 1"),
        (dict(delays="weibull"), "delays must be 'deterministic' or 'exponential'"),
        (dict(stock={("NOPE", "DEPOT"): 1}), "'NOPE' is not an item"),
        (dict(stock={("I0", "MARS"): 1}), "'MARS' is not a site"),
        (dict(stock=np.zeros((1, 1))), "expected an array of shape"),
        (dict(repair_channels={"DEPOT": 0}), "must be a whole number >= 1"),
        (dict(cannibalisation=True), "cannibalisation needs the Scenario"),
    ],
)
def test_bad_arguments(kw: dict[str, Any], needle: str) -> None:
    """Bad arguments raise SustainError naming the argument."""
    a = two_echelon(np.random.default_rng(4), n_items=2)
    args = {**dict(days=100, replications=2, seed=1), **kw}
    with pytest.raises(SustainError, match=needle):
        simulate(a, **args)
