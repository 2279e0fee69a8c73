"""``hrnet reproduce`` without training: the list of rows against the configs, the exact commands of each launcher
(dry runs), and the errors for bad input. Runs that train are in test_reproduce_runs.py."""

from __future__ import annotations

import csv
import json
import re
import shlex
import sys
from pathlib import Path

import pytest

from hrnet.cli import main as hrnet_main
from hrnet.reproduce.cli import NEEDS_SERVER
from hrnet.reproduce.workdir import MANIFEST, RECORD, SUBMISSION
from hrnet.resources import configs_dir

CONFIGS = configs_dir()  # the folder the package reads: the source tree's, or an installed wheel's
EXHIBIT_PREFIX = {"Table ": "", "Fig. ": "fig", "§": "sec"}  # how --list keys what the first line names


def hrnet(capsys, *argv: str) -> tuple[int, str, str]:
    code = hrnet_main(["reproduce", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def first_line_numbers(config: Path) -> list[str]:
    """Every number with a decimal point that the config's first line prints after the row's name (the paper's
    results; a name may hold one too, as Table 11's '~1.6×' schedules)."""
    return re.findall(r"\d+\.\d+", config.read_text().splitlines()[0].split(": ", 1)[1])


def test_list_names_every_config_with_its_paper_numbers(capsys) -> None:
    code, out, _ = hrnet(capsys, "--list")
    assert code == 0
    lines = [line.removesuffix(NEEDS_SERVER).rstrip() for line in out.splitlines()[1:]]  # the columns before it
    configs = sorted(CONFIGS.glob("*/*.py"))
    ablations = sorted(CONFIGS.glob("*/ablation/*.py"))
    test_set = sorted(CONFIGS.glob("*/test-set/*.py"))
    assert len(configs) == 36 and len(ablations) == 31 and len(test_set) == TEST_SET_ROWS
    for config in configs + ablations + test_set:
        in_folder = config.relative_to(CONFIGS).as_posix()
        listed = [line.split() for line in lines if line.endswith(in_folder)]
        assert listed, f"{config} is not listed"
        kind, number = re.match(r"# Paper (Table |Fig\. |§)(\d+)", config.read_text()).groups()
        assert {fields[0] for fields in listed} == {EXHIBIT_PREFIX[kind] + number}
        assert (config in ablations) == (kind != "Table " or number == "12")  # §7's studies live in ablation/
        framework = {"pose": "mmpose", "seg": "mmseg", "det": "mmdet"}[in_folder.split("/")[0]]
        assert {fields[-2] for fields in listed} == {framework}
        printed = [fields[-3] for fields in listed]
        assert sorted(printed) == sorted(first_line_numbers(config) or ["plotted"]), (config, printed)


# The test-set tables' HRNet rows: Table 2's two pose networks, Table 4's three (train; train+val, with and without
# OCR) and Table 11's thirteen detectors (its CenterNet row aside: no CenterNet config here).
TEST_SET_TABLES = {"2": 2, "4": 3, "11": 13}
TEST_SET_ROWS = sum(TEST_SET_TABLES.values())


def test_list_marks_the_test_set_rows_as_needing_the_server(capsys) -> None:
    _, out, _ = hrnet(capsys, "--list")
    marked = [line.split() for line in out.splitlines() if line.endswith(NEEDS_SERVER)]
    configs = {config.relative_to(CONFIGS).as_posix() for config in CONFIGS.glob("*/test-set/*.py")}
    assert {fields[-4] for fields in marked} == configs and len(marked) == TEST_SET_ROWS  # one number per row
    assert all(" test-set/" not in line and "/test-set/" in line for line in out.splitlines() if NEEDS_SERVER in line)
    tables = [fields[0] for fields in marked]
    assert {table: tables.count(table) for table in tables} == {"2": 2, "4": 3, "11": 13}
    assert not any("/test-set/" in line for line in out.splitlines() if not line.endswith(NEEDS_SERVER))


def test_collect_shows_a_test_set_row_as_its_written_submission(capsys, tmp_path) -> None:
    """A finished test-set row: the framework's test wrote no metrics (an empty result) but the server's files; the
    table shows the paper's number, no ours, and where the files are; the exit status counts it as done."""
    work_dir = tmp_path / "table2"
    work_dir.mkdir()
    (work_dir / MANIFEST).write_text(json.dumps(dict(table="2")))
    rows = ("hrnetv1-w32_210e_coco-test-dev-384x288", "hrnetv1-w48_210e_coco-test-dev-384x288")

    def finish(row: str) -> Path:  # what the worker leaves: mmengine's test json, the evaluator's results file
        run = work_dir / row / "20250101_000000"
        run.mkdir(parents=True)
        (run / f"{run.name}.json").write_text(json.dumps({"time": 0.5}))
        (work_dir / row / SUBMISSION).mkdir()
        (work_dir / row / SUBMISSION / "person_keypoints_test-dev2017_hrnet.keypoints.json").write_text("[]")
        return work_dir / row / SUBMISSION

    submission = finish(rows[0])
    code, out, _ = hrnet(capsys, "collect", "--work-dir", str(work_dir))
    assert code == 1  # the W48 row is not started
    (w32,) = [line for line in out.splitlines() if "HRNetV1-W32" in line]
    assert [cell.strip() for cell in w32.split("|")[5:9]] == ["74.90", "–", "–", f"submission written: {submission}"]
    assert "1 numbers await the evaluation server" in out

    finish(rows[1])
    code, out, _ = hrnet(capsys, "collect", "--work-dir", str(work_dir))
    assert code == 0
    with (work_dir / "results.csv").open() as file:
        found = {row["row"]: row for row in csv.DictReader(file)}
    assert {row: (found[row]["paper"], found[row]["ours"]) for row in rows} == {
        rows[0]: ("74.90", ""),
        rows[1]: ("75.50", ""),
    }
    assert found[rows[1]]["state"] == f"submission written: {work_dir / rows[1] / SUBMISSION}"


# The §7 studies as the paper gives them: Table 12 (a)-(c) for pose and segmentation, Fig. 9's three maps for two
# networks, Fig. 10's V1 / V1h / V2 on two data sets and V1 / V1h / V2p for Faster R-CNN at two schedules, and the
# numbers of §7's text (bilinear downsampling, multiplication, all streams from the start: pose and segmentation;
# HRNetV2-W32 pose).
EXHIBIT_ROWS = {"12": 6, "fig9": 6, "fig10": 12, "sec7": 7}


@pytest.mark.parametrize("spelling, key", [("12", "12"), ("table12", "12"), ("Fig. 9", "fig9"), ("fig10", "fig10"),
                                           ("§7", "sec7"), ("sec7", "sec7")])  # fmt: skip
def test_every_exhibit_of_section_7_runs_its_rows(capsys, tmp_path, spelling, key) -> None:
    code, out, _ = hrnet(capsys, spelling, "--work-dir", str(tmp_path / "w"), "--dry-run")
    assert code == 0
    commands = parse_dry_run(out)
    assert len(commands) == EXHIBIT_ROWS[key]
    assert all("/ablation/" in argv[4] for argv in commands)


def test_list_gives_both_numbers_of_the_instance_segmentation_rows(capsys) -> None:
    _, out, _ = hrnet(capsys, "--list")
    htc = [line for line in out.splitlines() if line.startswith("10 ") and "htc_hrnetv2p-w48_28e" in line]
    assert [line.split()[2:5] for line in htc] == [["mask", "AP", "41.0"], ["box", "AP", "47.0"]]


def parse_dry_run(out: str) -> list[list[str]]:
    return [shlex.split(line) for line in out.splitlines() if "hrnet.reproduce.worker" in line]


def test_dry_run_without_launcher_runs_the_worker_once_per_row_and_changes_nothing(capsys, tmp_path) -> None:
    work_dir = tmp_path / "table1"
    code, out, _ = hrnet(capsys, "1", "--work-dir", str(work_dir), "--dry-run")
    assert code == 0
    commands = parse_dry_run(out)
    assert len(commands) == 4
    for argv, config in zip(commands, sorted(CONFIGS.glob("pose/*.py"))):
        assert argv[0] == "PYTHONUNBUFFERED=1" and argv[1] == sys.executable
        assert argv[2:5] == ["-m", "hrnet.reproduce.worker", str(config)]
        row = config.stem.removeprefix("mmpose_")
        assert argv[5:] == ["--work-dir", str(work_dir / row), "--launcher", "none"]
    assert not work_dir.exists()


def test_dry_run_with_torchrun_on_several_nodes(capsys, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MASTER_ADDR", "10.1.2.3")
    monkeypatch.setenv("NODE_RANK", "1")
    row = "hrnetv2-w48_120k_cityscapes-512x1024"
    code, out, _ = hrnet(
        capsys, "table3", row, "--work-dir", str(tmp_path / "t3"), "--launcher", "pytorch", "--gpus", "4",
        "--nodes", "2", "--port", "29611", "--cfg-options", "train_dataloader.batch_size=2", "--dry-run",
    )  # fmt: skip
    assert code == 0
    (argv,) = parse_dry_run(out)
    assert argv[1:4] == [sys.executable, "-m", "torch.distributed.run"]
    assert argv[4:9] == [
        "--nnodes=2", "--node_rank=1", "--master_addr=10.1.2.3", "--nproc_per_node=4", "--master_port=29611",
    ]  # fmt: skip
    assert argv[9:12] == ["-m", "hrnet.reproduce.worker", str(CONFIGS / "seg" / f"mmseg_{row}.py")]
    assert argv[12:] == [
        "--work-dir", str(tmp_path / "t3" / row), "--launcher", "pytorch",
        "--cfg-options", "train_dataloader.batch_size=2",
    ]  # fmt: skip


def test_dry_run_with_slurm(capsys, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no srun here: a dry run still prints the commands
    code, out, _ = hrnet(
        capsys, "8", "faster-rcnn_hrnetv2p-w18_1x_coco-800x1333", "--work-dir", str(tmp_path / "t8"),
        "--launcher", "slurm", "--partition", "gpu", "--nodes", "2", "--dry-run",
    )  # fmt: skip
    assert code == 0
    (argv,) = parse_dry_run(out)
    srun = argv[1 : argv.index(sys.executable)]
    assert srun == [
        "srun", "--partition=gpu", "--job-name=hrnet", "--gres=gpu:8", "--nodes=2", "--ntasks=16",
        "--ntasks-per-node=8", "--cpus-per-task=5", "--kill-on-bad-exit=1",
    ]  # fmt: skip
    assert argv[argv.index(sys.executable) + 1 :][:3] == ["-u", "-m", "hrnet.reproduce.worker"]
    assert argv[-2:] == ["--launcher", "slurm"]


def test_smoke_dry_run_names_the_untrained_test_and_the_training(capsys, tmp_path) -> None:
    code, out, _ = hrnet(capsys, "smoke", "--task", "pose", "--work-dir", str(tmp_path / "s"), "--dry-run")
    assert code == 0
    untrained, trained = parse_dry_run(out)
    assert "--test-only" in untrained and "--test-only" not in trained
    assert untrained[untrained.index("--work-dir") + 1] == str(tmp_path / "s" / "untrained" / "pose")
    assert trained[trained.index("--work-dir") + 1] == str(tmp_path / "s" / "pose")
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["9", "faster-rcnn_hrnetv2p-w18_1x_coco-800x1333"], "Table 9 has no row 'faster-rcnn_hrnetv2p-w18_1x"),
        (["99"], "no reproducible rows for '99'; expected one of"),
        (["fig99"], "no reproducible rows for 'fig99'; expected one of"),
        (["9", "centernet_hrnetv2p-w48_coco-511x511"], "is not built: the paper's keypoint-triplet CenterNet"),
        (["figure"], "expected a table (e.g. 1 or table1), a figure (fig10) or a section (sec7), got 'figure'"),
        (["1", "--launcher", "none", "--gpus", "2"], "--launcher none runs one process"),
        (["1", "--launcher", "slurm"], "--launcher slurm needs --partition"),
        (["1", "--cfg-options", "lr"], "--cfg-options takes KEY=VALUE pairs, got 'lr'"),
        (["collect"], "holds no reproduce.json"),
        (["1", "--task", "pose"], "--task selects smoke tasks"),
        (["1", "--partition", "gpu"], "--partition and --cpus-per-task are Slurm options"),
    ],
)
def test_bad_input_is_an_error_naming_what_was_expected(capsys, tmp_path, argv, message) -> None:
    code, out, err = hrnet(capsys, *argv, "--work-dir", str(tmp_path / "w"))
    assert code == 2 and out == ""
    assert message in err


def test_missing_configs_folder(capsys, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HRNET_CONFIGS", str(tmp_path / "nowhere"))
    code, _, err = hrnet(capsys, "--list")
    assert code == 2 and f"HRNET_CONFIGS={tmp_path / 'nowhere'} is not a folder" in err


def test_a_folder_of_ones_own_takes_precedence(capsys, tmp_path, monkeypatch) -> None:
    """HRNET_CONFIGS names a folder of the user's own: its rows are the ones listed, not the package's."""
    (tmp_path / "pose").mkdir()
    mine = "# Paper Table 1, HRNetV1-W32 (mine), 256×192: COCO val AP 74.4\n_base_ = 'x.py'\n"
    (tmp_path / "pose" / "mmpose_mine.py").write_text(mine)
    monkeypatch.setenv("HRNET_CONFIGS", str(tmp_path))
    code, out, _ = hrnet(capsys, "--list")
    assert code == 0 and "pose/mmpose_mine.py" in out
    assert len(out.strip().splitlines()) - 1 < len(list(CONFIGS.glob("*/*.py")))


def test_a_config_without_the_paper_line_is_refused(capsys, tmp_path, monkeypatch) -> None:
    (tmp_path / "pose").mkdir()
    (tmp_path / "pose" / "mmpose_mine.py").write_text("_base_ = 'x.py'\n")
    monkeypatch.setenv("HRNET_CONFIGS", str(tmp_path))
    code, _, err = hrnet(capsys, "--list")
    assert code == 2 and "first line must read '# Paper Table N" in err


def test_a_work_dir_of_another_table_is_refused(capsys, tmp_path) -> None:
    work_dir = tmp_path / "w"
    work_dir.mkdir()
    (work_dir / MANIFEST).write_text(json.dumps(dict(table="3")))
    code, _, err = hrnet(capsys, "1", "--work-dir", str(work_dir))
    assert code == 2 and "holds the runs of table '3', not '1'" in err


def test_a_foreign_non_empty_work_dir_is_refused(capsys, tmp_path) -> None:
    (tmp_path / "w").mkdir()
    (tmp_path / "w" / "notes.txt").write_text("mine")
    code, _, err = hrnet(capsys, "1", "--work-dir", str(tmp_path / "w"))
    assert code == 2 and "is not empty and holds no reproduce.json" in err


def test_a_missing_launcher_is_an_error_before_anything_runs(capsys, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    args = ["1", "--work-dir", str(tmp_path / "w"), "--launcher", "slurm", "--partition", "p"]
    code, _, err = hrnet(capsys, *args)
    assert code == 2 and "runs 'srun', which is not on PATH" in err
    assert not any((tmp_path / "w").glob("*/"))


def test_a_row_trained_with_other_settings_is_not_continued(capsys, tmp_path) -> None:
    work_dir = tmp_path / "w"
    row_dir = work_dir / "hrnetv1-w32_210e_coco-256x192"
    row_dir.mkdir(parents=True)
    (work_dir / MANIFEST).write_text(json.dumps(dict(table="1")))
    record = dict(config="c.py", fingerprint="0123456789abcdef", cfg_options=["train_cfg.max_epochs=3"])
    (row_dir / RECORD).write_text(json.dumps(record))
    (row_dir / "epoch_3.pth").write_bytes(b"trained")
    code, _, err = hrnet(capsys, "1", "--work-dir", str(work_dir))
    assert code == 2 and "not continued with other settings and nothing in it is overwritten" in err
    assert (row_dir / "epoch_3.pth").read_bytes() == b"trained"
    assert json.loads((row_dir / RECORD).read_text()) == record


def test_the_centernet_rows_stay_listed_with_why_they_are_not_built(capsys) -> None:
    """Tables 9 and 11 print CenterNet rows (COCO val 43.4 / 44.0, test-dev 43.5) that no config builds."""
    _, out, _ = hrnet(capsys, "--list")
    listed = [line.split() for line in out.splitlines() if "centernet" in line]
    assert [(fields[0], fields[4]) for fields in listed] == [("9", "43.4"), ("9", "44.0"), ("11", "43.5")]
    reason = "not built: the paper's keypoint-triplet CenterNet"
    assert all(" ".join(fields[7:]).startswith(reason) for fields in listed)
