"""`keras-colorize serve`: the HTTP API (FastAPI's TestClient), and the page in a real headless
browser (Debian's chromium driven by Selenium): upload, result, before/after, downloads, video,
colour hints."""

import base64
import io
import json
import re
import shutil
import sys
import tempfile
import time
import zipfile

import av
import numpy as np
import pytest
import skimage.data
from conftest import CLIP_FRAMES, CLIP_SIZE, change_around, make_clip
from PIL import Image

from keras_colorize import cli, images, shipped, video

web = pytest.importorskip("keras_colorize.web", reason="needs the web extra (pip install 'keras-colorize[web]')")
from fastapi.testclient import TestClient  # noqa: E402

MODEL = "unet"  # the smallest shipped photo model: these tests check the app, not the colours


def _png(array):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def _image(content):
    return np.asarray(Image.open(io.BytesIO(content)).convert("RGB"))


@pytest.fixture(scope="module")
def photos():
    """{upload name: PNG bytes} of two real photos at sizes of their own."""
    return {"coffee.png": _png(skimage.data.coffee()[::4, ::4]), "cat.png": _png(skimage.data.chelsea()[::3, ::3])}


@pytest.fixture(scope="module")
def upload_folder(tmp_path_factory):
    """The system temporary folder during these tests, to check that uploads leave nothing there."""
    folder = tmp_path_factory.mktemp("uploads")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tempfile, "tempdir", str(folder))
        yield folder


@pytest.fixture(scope="module")
def client(upload_folder):
    with TestClient(web.create_app()) as test_client:
        yield test_client


def _uploads_left(folder):
    """The app's temporary folders in `folder` (TensorFlow writes files of its own there too)."""
    return [path.name for path in folder.iterdir() if path.name.startswith("keras-colorize")]


def _colorize(client, files, **form):
    return client.post("/api/colorize", files=[("files", item) for item in files], data={"model": MODEL, **form})


def test_the_models_are_listed_with_the_input_each_takes(client):
    listed = {entry["name"]: entry for entry in client.get("/api/models").json()["models"]}
    default = shipped.HINT_MODEL not in listed  # the hint model is the default photo model once it ships
    assert listed["mobilenet_unet"] == {"name": "mobilenet_unet", "input": "photo", "hints": False, "default": default}
    assert listed["sketch_inverter"]["input"] == "sketch" and listed["sketch_inverter"]["default"]
    assert listed["unet"] == {"name": "unet", "input": "photo", "hints": False, "default": False}


def test_one_photo_gives_a_png_of_its_size_and_several_a_zip(client, photos, upload_folder):
    response = _colorize(client, [("coffee.png", photos["coffee.png"], "image/png")])
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    assert 'filename="coffee.png"' in response.headers["content-disposition"]
    colour = _image(response.content)
    assert colour.shape == _image(photos["coffee.png"]).shape
    assert np.abs(colour[..., 0].astype(int) - colour[..., 2]).mean() > 1  # coloured, not gray

    response = _colorize(client, [(name, content, "image/png") for name, content in photos.items()]
                         + [("coffee.png", photos["coffee.png"], "image/png"),
                            ('../my "best"\r\ncup.png', photos["coffee.png"], "image/png")])
    assert response.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        names = archive.namelist()
        assert names[:3] == ["coffee.png", "cat.png", "coffee-2.png"]
        assert re.fullmatch(r"my_[\w-]*cup\.png", names[3])  # no folder, quote or line break from the upload
        assert _image(archive.read("cat.png")).shape == _image(photos["cat.png"]).shape
    assert _uploads_left(upload_folder) == []  # every upload deleted with its request


def test_json_answers_name_the_skipped_files_and_keep_the_others(client, photos):
    response = _colorize(client, [("notes.txt", b"shopping list", "text/plain"),
                                  ("coffee.png", photos["coffee.png"], "image/png")], response="json")
    answer = response.json()
    assert response.status_code == 200 and response.headers["x-skipped"] == "1"
    assert answer["skipped"] == ["notes.txt: not an image (not a format Pillow can read)"]
    listed = [(item["index"], item["file"], item["name"]) for item in answer["results"]]
    assert listed == [(1, "coffee.png", "coffee.png")]
    assert _image(base64.b64decode(answer["results"][0]["png"])).shape == _image(photos["coffee.png"]).shape


A_FILE = [("a.png", b"x", "image/png")]


@pytest.mark.parametrize("files, form, status, message", [
    ([("notes.txt", b"shopping list", "text/plain")], {}, 415,
     "notes.txt: not an image (not a format Pillow can read)"),
    ([("cut.png", _png(np.zeros((40, 40, 3), np.uint8))[:60], "image/png")], {}, 415, "cut.png: truncated or corrupt"),
    (A_FILE * (web.MAX_FILES + 1), {}, 422, f"{web.MAX_FILES + 1} files: at most {web.MAX_FILES} a request"),
    (A_FILE, {"model": "../../etc/passwd"}, 422, "model '../../etc/passwd': not a shipped model"),
    (A_FILE, {"render_size": "100"}, 422, "render size 100 is not a multiple of the model's stride 16"),
    ([], {}, 422, "files: Field required"),
])
def test_bad_requests_get_a_json_message_naming_the_file_and_the_problem(client, files, form, status, message):
    response = _colorize(client, files, **form)
    assert response.status_code == status
    assert message in response.json()["error"] and "Traceback" not in response.text


@pytest.fixture
def hint_model_shipped(weights_with_a_hint_model, monkeypatch):
    """An untrained `shipped.HINT_MODEL` among the shipped models (conftest), for the app to serve."""
    monkeypatch.setattr(shipped, "PRESETS_DIR", weights_with_a_hint_model)


def test_hints_steer_a_hint_model(client, photos, hint_model_shipped):
    listed = {entry["name"]: entry for entry in client.get("/api/models").json()["models"]}
    assert listed[shipped.HINT_MODEL] == {"name": shipped.HINT_MODEL, "input": "photo", "hints": True, "default": True}
    assert not listed["mobilenet_unet"]["default"]
    cat = [("cat.png", photos["cat.png"], "image/png")]
    unhinted = _image(_colorize(client, cat, model=shipped.HINT_MODEL).content)
    response = _colorize(client, cat, model=shipped.HINT_MODEL, hints=json.dumps([[40, 30, [255, 0, 0]]]))
    assert response.status_code == 200
    hinted = _image(response.content)
    near = change_around(unhinted, hinted, 40, 30)
    assert near > 1 and change_around(unhinted, hinted, 120, 80) < near / 4

    response = _colorize(client, cat, model=shipped.HINT_MODEL, hints="[[151, 30, [255, 0, 0]]]")
    assert response.status_code == 400
    assert response.json()["error"] == "cat.png: hint 0: (151, 30) lies outside the 151x100 image"


SMALL_PHOTO = ("coffee.png", _png(skimage.data.coffee()[::16, ::16]), "image/png")


@pytest.mark.parametrize("files, hints, message", [
    ([SMALL_PHOTO], "[[4, 4, [255, 0, 0]]]", "coffee.png: model 'unet' takes no colour hints"),
    ([SMALL_PHOTO], "[]", "coffee.png: model 'unet' takes no colour hints"),
    ([SMALL_PHOTO], "red, please", "hints: not JSON"),
    ([SMALL_PHOTO], '{"x": 4}', "hints: not a list of [x, y, [r, g, b]] points"),
    ([SMALL_PHOTO] * 2, "[]", "hints: given for one image, and 2 files were sent"),
])
def test_hints_a_model_cannot_follow_get_400_naming_the_problem(client, files, hints, message):
    response = _colorize(client, files, hints=hints)
    assert response.status_code == 400
    assert message in response.json()["error"] and "Traceback" not in response.text


def test_too_large_uploads_are_refused_with_413(client, photos, monkeypatch):
    monkeypatch.setattr(web, "MAX_IMAGE_BYTES", 1000)
    response = _colorize(client, [("coffee.png", photos["coffee.png"], "image/png")])
    assert response.status_code == 413 and response.json()["error"].startswith("coffee.png: too large")
    response = _colorize(client, [("coffee.png", photos["coffee.png"] * 40, "image/png")])
    assert response.status_code == 413 and "above the limit" in response.json()["error"]
    monkeypatch.setattr(images, "max_pixels", 100)
    monkeypatch.setattr(web, "MAX_IMAGE_BYTES", 1 << 20)
    response = _colorize(client, [("coffee.png", photos["coffee.png"], "image/png")])
    assert response.status_code == 413 and "coffee.png: too large" in response.json()["error"]


def test_only_the_last_models_used_stay_loaded(monkeypatch):
    monkeypatch.setattr(web.Colorizer, "load", lambda name, size=None: (name, size))
    monkeypatch.setattr(web, "MODELS_KEPT", 2)
    loaded = web.Models()
    for size in (None, 64, None, 128):
        assert loaded.get("unet", size) == ("unet", size)
    assert list(loaded._loaded) == [("unet", None), ("unet", 128)]  # 64 was the least recently used


def _finished(client, job, seconds=120):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        state = client.get(f"/api/video/{job}").json()
        if state["state"] in ("done", "failed"):
            return state
        time.sleep(0.2)
    raise AssertionError(f"video job {job} still {state} after {seconds} s")


def test_a_video_job_reports_progress_and_its_result_keeps_the_sound(client, tmp_path, upload_folder, monkeypatch):
    clip = make_clip(tmp_path / "tone.mp4", "aac", 16000)
    response = client.post("/api/video", files={"file": ("tone.mp4", clip.read_bytes(), "video/mp4")},
                           data={"model": MODEL})
    assert response.status_code == 202
    job = response.json()["job"]
    state = _finished(client, job)
    assert state["state"] == "done" and state["progress"] == 1.0 and "1 audio stream copied" in state["summary"]
    result = client.get(f"/api/video/{job}/result")
    assert result.headers["content-type"] == "video/mp4"
    (tmp_path / "out.mp4").write_bytes(result.content)
    info = video.video_info(tmp_path / "out.mp4")
    assert (info.frames, (info.width, info.height)) == (CLIP_FRAMES, CLIP_SIZE)
    with av.open(str(tmp_path / "out.mp4")) as container:
        assert len(container.streams.audio) == 1
    assert client.get(f"/api/video/{job}").status_code == 404  # fetched once, then gone
    assert _uploads_left(upload_folder) == []

    job = client.post("/api/video", files={"file": ("tone.mp4", clip.read_bytes(), "video/mp4")},
                      data={"model": MODEL}).json()["job"]
    assert _finished(client, job)["state"] == "done" and _uploads_left(upload_folder)
    monkeypatch.setattr(web, "JOB_SECONDS", -1)  # a result nobody fetched, now an hour old
    assert client.get(f"/api/video/{job}").status_code == 404 and _uploads_left(upload_folder) == []

    still = _png(np.zeros((8, 8, 3), np.uint8))
    response = client.post("/api/video", files={"file": ("photo.png", still, "image/png")})
    assert response.status_code == 415 and response.json()["error"].startswith("photo.png: still image")


def test_serve_without_the_web_extra_names_the_extra(monkeypatch, capsys):
    import builtins

    real_import = builtins.__import__

    def without_fastapi(name, *args, **kwargs):
        if name == "fastapi" or name.startswith("fastapi."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return real_import(name, *args, **kwargs)

    import keras_colorize

    monkeypatch.delitem(sys.modules, "keras_colorize.web")
    monkeypatch.delattr(keras_colorize, "web")
    monkeypatch.setattr(builtins, "__import__", without_fastapi)
    assert cli.main(["serve"]) == cli.EXIT_ERROR
    assert "needs the web extra (fastapi is missing): pip install 'keras-colorize[web]'" in capsys.readouterr().err
    assert cli.build_parser().parse_args(["serve"]).host == "127.0.0.1"  # this computer only, unless told


# --- the page in a real browser ----------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
needs_browser = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver; .ci/run does)",
)


@pytest.fixture(scope="module")
def server(upload_folder):
    """The app served by uvicorn on a free local port; its base URL."""
    with web.served_in_background() as url:
        yield url


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Headless chromium; its downloads go to `browser.downloads`."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    downloads = tmp_path_factory.mktemp("downloads")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1100,900"):
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    driver.downloads = downloads
    yield driver
    driver.quit()


def _downloaded(folder, name, seconds=30):
    path = folder / name
    deadline = time.monotonic() + seconds
    while not (path.is_file() and path.stat().st_size and not list(folder.glob("*.crdownload"))):
        assert time.monotonic() < deadline, f"{name} was not downloaded (the folder holds {sorted(folder.iterdir())})"
        time.sleep(0.1)
    return path


@needs_browser
def test_the_page_colorizes_dropped_photos_compares_and_downloads(server, browser, photos, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    wait = WebDriverWait(browser, 60)
    browser.get(server)
    wait.until(lambda driver: driver.find_elements(By.CSS_SELECTOR, "#model option"))
    assert not browser.find_element(By.ID, "download-all").is_displayed()  # until there is a zip
    select = Select(browser.find_element(By.ID, "model"))
    groups = [group.get_attribute("label") for group in browser.find_elements(By.TAG_NAME, "optgroup")]
    assert groups == ["Photo models (gray photo → colour)", "Sketch models (sketch → photo)"]
    assert select.first_selected_option.get_attribute("value") == shipped.app_photo_model()
    select.select_by_value(MODEL)

    for name, content in photos.items():
        (tmp_path / name).write_bytes(content)
    browser.find_element(By.ID, "files").send_keys("\n".join(str(tmp_path / name) for name in photos))
    wait.until(lambda driver: len(driver.find_elements(By.CSS_SELECTOR, ".result img.after")) == 2 and all(
        image.get_attribute("naturalWidth") != "0" for image in driver.find_elements(By.CSS_SELECTOR, ".result img")))
    assert browser.find_element(By.ID, "status").text == "Done: 2 colorized."
    first_after = browser.find_element(By.CSS_SELECTOR, ".result img.after")
    assert int(first_after.get_attribute("naturalWidth")) == _image(photos["coffee.png"]).shape[1]

    slider = browser.find_element(By.CSS_SELECTOR, ".result input[type=range]")
    browser.execute_script("arguments[0].value = 20; arguments[0].dispatchEvent(new Event('input'))", slider)
    assert first_after.value_of_css_property("clip-path") == "inset(0px 80% 0px 0px)"
    browser.save_screenshot(str(tmp_path / "page.png"))
    assert Image.open(tmp_path / "page.png").size[0] > 500

    browser.find_element(By.CSS_SELECTOR, ".result a.download").click()
    saved = images.read_rgb(_downloaded(browser.downloads, "coffee.png"))
    assert saved.shape == _image(photos["coffee.png"]).shape
    browser.find_element(By.ID, "download-all").click()
    with zipfile.ZipFile(_downloaded(browser.downloads, "colorized.zip")) as archive:
        assert sorted(archive.namelist()) == ["cat.png", "coffee.png"]
        np.testing.assert_array_equal(_image(archive.read("coffee.png")), saved)

    # A drop: the browser's own drop event, carrying the second picked file.
    browser.execute_script("""
        const dropped = new DataTransfer();
        dropped.items.add(document.getElementById("files").files[1]);
        document.getElementById("drop").dispatchEvent(new DragEvent("drop", {dataTransfer: dropped}));""")
    wait.until(lambda driver: driver.find_element(By.ID, "status").text == "Done: 1 colorized.")
    assert [item.text for item in browser.find_elements(By.CSS_SELECTOR, ".result .name")] == ["cat.png"]
    assert not browser.find_element(By.ID, "download-all").is_displayed()  # one result: no zip


@needs_browser
def test_the_page_colorizes_a_video_with_a_progress_bar_and_a_download(server, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    browser.get(server)
    WebDriverWait(browser, 30).until(lambda driver: driver.find_elements(By.CSS_SELECTOR, "#model option"))
    Select(browser.find_element(By.ID, "model")).select_by_value(MODEL)
    clip = make_clip(tmp_path / "tone.mp4", "aac", 16000)
    browser.find_element(By.ID, "video-file").send_keys(str(clip))
    browser.find_element(By.ID, "video-start").click()
    link = browser.find_element(By.ID, "video-download")
    assert not link.is_displayed()
    WebDriverWait(browser, 120).until(lambda driver: link.is_displayed() or "error" in
                                      driver.find_element(By.ID, "video-status").get_attribute("class"))
    assert "1 audio stream copied" in browser.find_element(By.ID, "video-status").text
    assert browser.find_element(By.ID, "video-progress").get_attribute("value") == "1"
    link.click()
    info = video.video_info(_downloaded(browser.downloads, "tone-colorized.mp4", seconds=60))
    assert (info.frames, (info.width, info.height)) == (CLIP_FRAMES, CLIP_SIZE)


def _shown(browser, selector):
    """The pixels of the image that `selector` shows, fetched from its source by the page."""
    png = browser.execute_async_script("""
        const done = arguments[arguments.length - 1];
        fetch(document.querySelector(arguments[0]).src).then((response) => response.blob()).then((blob) => {
            const reader = new FileReader();
            reader.onload = () => done(reader.result.split(",")[1]);
            reader.readAsDataURL(blob);
        });""", selector)
    return _image(base64.b64decode(png))


@needs_browser
def test_the_page_places_colour_hints_on_a_photo_and_the_result_follows(
        server, browser, photos, tmp_path, hint_model_shipped):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    wait = WebDriverWait(browser, 60)
    browser.get(server)
    wait.until(lambda driver: driver.find_elements(By.CSS_SELECTOR, "#model option"))
    assert Select(browser.find_element(By.ID, "model")).first_selected_option.get_attribute("value") \
        == shipped.HINT_MODEL  # shipped, it is the page's default photo model
    (tmp_path / "cat.png").write_bytes(photos["cat.png"])
    browser.find_element(By.ID, "files").send_keys(str(tmp_path / "cat.png"))
    wait.until(lambda driver: driver.find_elements(By.CSS_SELECTOR, ".result .edit-hints"))
    unhinted = _shown(browser, ".result img.after")
    assert not browser.find_element(By.ID, "hinting").is_displayed()
    browser.find_element(By.CSS_SELECTOR, ".result .edit-hints").click()

    # The colour picker's answer, without its dialog; then a click on the gray photo at (40, 30).
    browser.execute_script("document.getElementById('hint-colour').value = '#ff0000'")
    gray = browser.find_element(By.ID, "hint-gray")
    scale = gray.size["width"] / unhinted.shape[1]
    offset = (round(40.5 * scale - gray.size["width"] / 2), round(30.5 * scale - gray.size["height"] / 2))
    ActionChains(browser).move_to_element_with_offset(gray, *offset).click().perform()  # from its centre
    wait.until(lambda driver: driver.find_element(By.ID, "hint-status").text == "Done: 1 hint followed.")
    place = browser.find_element(By.CSS_SELECTOR, "#hint-list .place").text
    x, y = map(int, place.split(", "))
    assert abs(x - 40) <= 1 and abs(y - 30) <= 1
    assert len(browser.find_elements(By.CSS_SELECTOR, "#hint-frame .marker")) == 1
    hinted = _shown(browser, "#hint-result")
    near = change_around(unhinted, hinted, x, y)
    assert near > 1 and change_around(unhinted, hinted, 120, 80) < near / 4
    np.testing.assert_array_equal(_shown(browser, ".result img.after"), hinted)  # the card's result, to download

    browser.find_element(By.CSS_SELECTOR, "#hint-list button").click()
    wait.until(lambda driver: driver.find_element(By.ID, "hint-status").text == "Done: 0 hints followed.")
    assert browser.find_elements(By.CSS_SELECTOR, "#hint-list li, #hint-frame .marker") == []
    assert np.abs(_shown(browser, "#hint-result").astype(int) - unhinted).max() <= 1


def test_the_api_is_described_for_scripts(client):
    paths = json.loads(client.get("/openapi.json").text)["paths"]
    assert {"/api/colorize", "/api/models", "/api/video", "/api/video/{job_id}"} <= set(paths)
