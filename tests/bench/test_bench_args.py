"""The replay scripts' shared command line (bench/common_args.py): the flags and their meaning as before."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.bench_module import load_bench

common_args = load_bench("common_args")
data_folders, fusion_pair, replay_parser = (
    common_args.data_folders,
    common_args.fusion_pair,
    common_args.replay_parser,
)


def test_a_sized_replay_takes_the_dump_data_folders_and_profile() -> None:
    args = replay_parser("doc").parse_args(["dump.jsonl", "--data", "small=/d/s", "--data", "large=/d/l"])
    assert args.dump == Path("dump.jsonl")
    assert args.profile == "offline"
    assert data_folders(args.data) == {"small": Path("/d/s"), "large": Path("/d/l")}
    assert list(data_folders(args.data)) == ["small", "large"]


def test_a_sized_replay_needs_its_data_folders() -> None:
    with pytest.raises(SystemExit):
        replay_parser("doc").parse_args(["dump.jsonl"])


def test_an_unsized_replay_has_no_data_or_profile() -> None:
    args = replay_parser("doc", sized=False).parse_args(["dump.jsonl"])
    assert vars(args) == {"dump": Path("dump.jsonl")}


def test_fusion_is_an_rrf_k_and_a_lexical_weight() -> None:
    assert fusion_pair("40,1.5") == (40, 1.5)
    parser = replay_parser("doc", sized=False)
    parser.add_argument("--fusion", type=fusion_pair)
    with pytest.raises(SystemExit):
        parser.parse_args(["dump.jsonl", "--fusion", "40"])
