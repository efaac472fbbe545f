"""The upload-to-answer flow in a real browser (Playwright + Debian's Chromium, app started by the test):

(a) a zip of CIFAR-10 class folders and the akamaster + chenyaofo ResNet-20 state_dicts (no greenrunner.json) ->
    use case -> staging lists those two checkpoints, the label map and the cost -> Run -> a ranking of those two
    checkpoints with their accuracy on the uploaded images;
(b) cat/ship/airplane folders mapped onto ImageNet classes automatically, checked with torchvision-format weights
    files cached in a temporary TORCH_HOME (random weights under the hub cache names: the pipeline, not accuracy;
    online, the real weights download). Needs ../shared/data (GREENRUNNER_SHARED_DATA), else skipped.
"""
from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.app_server import REPO, AppServer, app_env, fresh_cache, launch_chromium, require_browser
from tests.integration.test_upload_flow import CHECKPOINTS, make_cifar_zip

pytestmark = pytest.mark.integration

SHOTS = Path(os.environ.get("GREENRUNNER_SCREENSHOTS", REPO / "docs" / "screenshots"))
RUN_TIMEOUT = 300_000
IMAGENET_MODELS = ("mobilenet_v3_small", "squeezenet1_1")


def _cache_random_torchvision_weights(torch_home: Path) -> None:
    """Random weights saved where torch.hub caches the DEFAULT weights of two small torchvision models."""
    import torch
    from torchvision.models import get_model, get_model_weights

    from greenrunner_core.registry.torchvision_catalog import checkpoint_path
    old = os.environ.get("TORCH_HOME")
    os.environ["TORCH_HOME"] = str(torch_home)
    try:
        for name in IMAGENET_MODELS:
            path = checkpoint_path(get_model_weights(name).DEFAULT)
            path.parent.mkdir(parents=True, exist_ok=True)
            torch.manual_seed(0)
            torch.save(get_model(name).state_dict(), path)
    finally:
        os.environ.pop("TORCH_HOME") if old is None else os.environ.__setitem__("TORCH_HOME", old)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, _isolated_cache: Path) -> Iterator[AppServer]:
    require_browser()
    from tests.conftest import SHARED_DATA
    if not SHARED_DATA.exists():
        pytest.skip(f"shared test data not found at {SHARED_DATA} (CIFAR-10 images and checkpoints)")
    shared = SHARED_DATA
    data = tmp_path_factory.mktemp("upload_app")
    cache = fresh_cache(_isolated_cache, data / "cache")
    _cache_random_torchvision_weights(data / "torch_home")
    env = app_env(data, cache, GREENRUNNER_MAX_UPLOAD_MB="20", GREENRUNNER_INCLUDE_TORCHVISION="true",
                  TORCH_HOME=str(data / "torch_home"), HF_HUB_OFFLINE="1", HF_HOME=str(data / "hf_home"))
    app = AppServer(env, data / "server.log").start()
    app.shared = shared
    yield app
    app.stop()


@pytest.fixture(scope="module")
def browser(server: AppServer):
    yield from launch_chromium()


def _page(browser, server: AppServer):
    from playwright.sync_api import expect
    expect.set_options(timeout=180_000)         # uploads are checked (and checkpoints recognised) on 2 busy cores
    page = browser.new_page(viewport={"width": 1280, "height": 1100}, color_scheme="light")
    page.set_default_timeout(120_000)
    page.goto(server.url)
    page.wait_for_selector("#chat-input")
    page.get_by_text("GreenRunner picks").first.wait_for()
    return page


def _upload(page, paths: list[Path], expect_text: str) -> None:
    from playwright.sync_api import expect
    page.set_input_files("#upload-button-input", [str(p) for p in paths])
    expect(page.locator("#chat-submit")).to_be_enabled()
    page.locator("#chat-submit").click()
    expect(page.get_by_text(expect_text).last).to_be_visible()


def _send(page, text: str) -> None:
    page.fill("#chat-input", text)
    page.keyboard.press("Enter")


def _shot(page, name: str, anchor) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    anchor.evaluate("e => e.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(700)
    page.screenshot(path=str(SHOTS / name))


def _ranking_rows(page) -> list[str]:
    page.get_by_text("Savings against brute force").last.wait_for(timeout=RUN_TIMEOUT)
    table = page.locator("table").filter(has_text="selection count").last
    return [table.locator("tbody tr").nth(i).inner_text() for i in range(table.locator("tbody tr").count())]


def test_cifar_zip_and_two_checkpoints_end_in_a_ranking_of_those_checkpoints(browser, server, tmp_path):
    from playwright.sync_api import expect
    shared = server.shared
    files = [make_cifar_zip(shared, tmp_path / "pets.zip")]
    for original, renamed in CHECKPOINTS.items():
        shutil.copyfile(shared / "cifar10" / "models" / original, tmp_path / renamed)
        files.append(tmp_path / renamed)
    page = _page(browser, server)
    _upload(page, files, "target dataset accepted — 90 usable images in 3 classes")
    expect(page.get_by_text("recognised as architecture 'cifar_resnet20_akamaster'").last).to_be_visible()
    expect(page.get_by_text("recognised as architecture 'cifar_resnet20_chenyaofo'").last).to_be_visible()

    _send(page, "Pick the most accurate model for sorting my photos of airplanes, cats and ships")
    page.get_by_text("Approve this run?").last.wait_for()
    staging = page.locator(".step").filter(has_text="Approve this run?").last
    text = page.get_by_text("Candidates").last.inner_text() if staging.count() == 0 else staging.inner_text()
    body = page.content()
    assert "model_a" in body and "model_b" in body and "your checkpoint" in body, text
    assert "Estimated cost" in body and "the demo zoo" not in body
    _shot(page, "upload_staging.png", page.get_by_text("Candidates").last)
    page.get_by_role("button", name="Run", exact=True).click()
    rows = _ranking_rows(page)
    assert len(rows) == 2 and {r.split()[0] if r.split()[0] in ("model_a", "model_b") else
                               next(w for w in r.split() if w.startswith("model_")) for r in rows} == \
        {"model_a", "model_b"}, rows
    accuracies = [float(m) for r in rows for m in re.findall(r"\b(0\.\d+|1\.0+)\b", r)[:1]]
    assert accuracies and all(a >= 0.6 for a in accuracies), rows
    page.close()


def test_cat_ship_airplane_folders_map_onto_imagenet_automatically(browser, server, tmp_path):
    from playwright.sync_api import expect
    page = _page(browser, server)
    _upload(page, [make_cifar_zip(server.shared, tmp_path / "photos.zip", per_class=10)],
            "target dataset accepted — 30 usable images in 3 classes")
    expect(page.get_by_text("match ImageNet labels").last).to_be_visible()
    _send(page, "Pick the most accurate model for sorting my photos of airplanes, cats and ships")
    page.get_by_text("Approve this run?").last.wait_for()
    body = page.content()
    assert "cat → tabby, tiger cat, Persian cat, Siamese cat, Egyptian cat" in body
    assert "ship → aircraft carrier, container ship, liner" in body and "airplane → airliner, warplane" in body
    for name in IMAGENET_MODELS:
        assert f"`{name}`" in body or f">{name}<" in body, name
    assert "not cached and this machine is offline" in body          # the rest, with the fix, before approval
    _shot(page, "imagenet_label_map.png", page.get_by_text("Label map").last)
    _send(page, "map airplane to airliner")                  # an edit in the chat, checked against the labels
    expect(page.get_by_text("Label map edit saved").last).to_be_visible()
    _send(page, "map ship to starship")
    expect(page.get_by_text("'starship' is not a label of any candidate model").last).to_be_visible()
    page.get_by_role("button", name="Run", exact=True).click()
    rows = _ranking_rows(page)
    assert len(rows) == 2 and all(any(n in r for n in IMAGENET_MODELS) for r in rows), rows
    page.close()
