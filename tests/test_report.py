"""``report``: an HTML page with PNG plots, rendered by a real headless Chromium."""

from __future__ import annotations

import base64
import io
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from matplotlib import image

import distinc
from distinc.report.plots import RETRAIN_COLOR, UPDATE_COLOR
from tests.conftest import learned_store, make_frame, run_cli, write_partition

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PLOTS = ["metrics.png", "rows.png", "cost.png", "drift.png"]


class Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.sources.append(dict(attrs).get("src") or "")


def chromium(page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            *extra,
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def share_of(pixels: np.ndarray, color: str) -> float:
    rgb = np.array([int(color[i : i + 2], 16) for i in (1, 3, 5)]) / 255.0
    close = np.abs(pixels[..., :3] - rgb).max(axis=-1) < 0.06
    return float(close.mean())


@pytest.fixture
def store_with_history(tmp_path: Path, data_dir: Path, client: Any) -> tuple[Any, Path]:
    model = learned_store(tmp_path, data_dir, client)
    write_partition(data_dir, "part-03.parquet", make_frame(800, seed=3))
    model.update(client=client)
    shifted = make_frame(800, seed=4)
    shifted["x0"] += 3.0
    write_partition(data_dir, "part-04.parquet", shifted)
    model.update(client=client)
    holdout = tmp_path / "holdout"
    write_partition(holdout, "h.parquet", make_frame(400, seed=99))
    model.evaluations(str(holdout), client=client)
    model.compare(str(holdout), client=client)
    return model, holdout


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs it)")
def test_report_renders_in_headless_chromium_with_every_plot(
    tmp_path: Path, store_with_history: tuple[Any, Path]
) -> None:
    out = tmp_path / "report"
    printed = run_cli("report", str(tmp_path / "store"), "--out", str(out)).stdout
    assert f"wrote {out / 'index.html'} with 4 plot(s)" in printed
    assert sorted(p.name for p in out.glob("*.png")) == sorted(PLOTS)

    dom = chromium(out / "index.html", tmp_path / "profile", "--dump-dom").stdout
    assert "Update or retrain?" in dom and "Drift per feature" in dom
    images = Images()
    images.feed(dom)
    assert len(images.sources) == 4
    for source in images.sources:
        prefix = "data:image/png;base64,"
        assert source.startswith(prefix)
        pixels = image.imread(io.BytesIO(base64.b64decode(source[len(prefix) :])), format="png")
        assert pixels.shape[0] > 100 and pixels.shape[1] > 100 and pixels.std() > 0.05

    shot = tmp_path / "shot.png"
    chromium(
        out / "index.html",
        tmp_path / "profile",
        f"--screenshot={shot}",
        "--window-size=1200,4000",
        "--hide-scrollbars",
    )
    pixels = image.imread(shot)
    # The plots' own colours, which nothing else on the page uses, cover part of the screen.
    assert share_of(pixels, UPDATE_COLOR) > 0.005
    assert share_of(pixels, RETRAIN_COLOR) > 0.001


def test_report_from_a_store_with_nothing_measured_still_renders(
    tmp_path: Path, data_dir: Path, client: Any
) -> None:
    model = distinc.init(
        str(tmp_path / "store"), data=str(data_dir), target="label", model="SGDClassifier"
    )
    empty = model.report(str(tmp_path / "empty"))
    assert empty.plots == () and "no versions yet" in Path(empty.page).read_text()
    model.update(client=client)
    files = model.report(str(tmp_path / "report"))
    page = Path(files.page).read_text()
    assert "distinc evaluate STORE" in page and "distinc compare STORE" in page
    assert [Path(p).name for p in files.plots] == ["rows.png", "cost.png"]
