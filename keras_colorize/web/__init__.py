"""`keras-colorize serve`: a local web app and HTTP API over the shipped models (FastAPI).

    keras-colorize serve [--host 127.0.0.1] [--port 8000]

    GET  /                      the page: drop photos or sketches, pick a model, compare, download;
                                with a hint model, click a photo to give colours of places on it
    GET  /api/models            the shipped models, each with the input it takes (photo or sketch)
                                and whether it takes colour hints
    POST /api/colorize          multipart `files` (1 to MAX_FILES images), `model`, `render_size`,
                                `response`: "file" (one PNG, or a zip of several) or "json";
                                `hints`: JSON [[x, y, [r, g, b]], ...] for one image (hint models)
    POST /api/video             multipart `file` (one video), `model` -> 202 {"job": id}
    GET  /api/video/{id}        {"state": "queued" | "running" | "done" | "failed", "progress", ...}
    GET  /api/video/{id}/result the colorized MP4, once; the job and its files are then removed
    GET  /docs, /openapi.json   the API's OpenAPI description (FastAPI's)

Every error is JSON `{"error": message}` naming the file and the problem: 400 hints that cannot
be followed (a model without hint input, not JSON [x, y, [r, g, b]] points, a point off the
image, several files), 413 too large (bytes or pixels), 415 not an image or not a video, 422 a
bad request (no file, too many, unknown model, a render size off the model's stride); never a
traceback. In a batch, files that cannot
be read are skipped and listed, and the others colorized. Uploads live in a temporary folder
for the length of the request (a video: of its job) and are deleted with it; nothing is kept.
"""

import base64
import concurrent.futures
import contextlib
import io
import json
import re
import secrets
import shutil
import socket
import tempfile
import threading
import time
import zipfile
from pathlib import Path

import uvicorn
from fastapi import FastAPI, File, Form, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from PIL import Image
from starlette.background import BackgroundTask

from keras_colorize import images, models, shipped, video
from keras_colorize.colorizer import Colorizer, input_kind_of
from keras_colorize.errors import ColorizeError, ModelLoadError

PAGE = Path(__file__).with_name("page.html")
MAX_FILES = 32
MAX_IMAGE_BYTES = 25 << 20
MAX_VIDEO_BYTES = 300 << 20
JOB_SECONDS = 3600  # a video job this old is deleted, fetched or not, by the next request about videos
MODELS_KEPT = 4
# One request colorizes at a time: the CPU is shared anyway, and memory stays that of one.
colorizing = threading.Lock()
NAMES = {"gray": "photo", "sketch": "sketch"}  # what each input kind is called on the page


class UploadError(ColorizeError):
    """A request that cannot be served; `status` is its HTTP status, the message names the file."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def shipped_models():
    """[{"name", "input": "photo" | "sketch", "hints", "default"}] of the shipped models, photo
    models first; `hints`: whether the model takes colour hints."""
    listed = []
    for name in shipped.available():
        model = shipped.description(name)["model"]
        listed.append({"name": name, "input": NAMES[input_kind_of(models.element_format(model))],
                       "hints": models.takes_hints(model),
                       "default": name in (shipped.app_photo_model(), shipped.SKETCH_MODEL)})
    return sorted(listed, key=lambda entry: (entry["input"] != "photo", entry["name"]))


class Models:
    """The shipped models, each loaded on first use (per render size); the last `MODELS_KEPT`
    used stay loaded, so that requests for many render sizes cannot fill the memory."""

    def __init__(self):
        self._loaded = {}
        self._lock = threading.Lock()

    def get(self, name, render_size=None):
        if name not in shipped.available():
            raise UploadError(422, f"model {name!r}: not a shipped model (shipped: {', '.join(shipped.available())})")
        key = name, render_size
        with self._lock:
            if key not in self._loaded:
                try:
                    colorizer = Colorizer.load(name, size=render_size)
                except ModelLoadError as error:
                    raise UploadError(422, str(error)) from None
                if len(self._loaded) == MODELS_KEPT:
                    self._loaded.pop(next(iter(self._loaded)))
                self._loaded[key] = colorizer
            self._loaded[key] = self._loaded.pop(key)  # the last used goes last
            return self._loaded[key]


def _safe_name(name, fallback):
    """A file name as a browser sent it, without folders or characters that could break a path,
    a zip entry or a header (quotes, line breaks), and at most 100 characters."""
    return re.sub(r"[^\w.-]", "_", Path(name or fallback).name)[-100:] or fallback


def _saved(upload, folder, limit, index):
    """Copy `upload` into `folder` (a temporary one), refusing more than `limit` bytes (413)."""
    name = upload.filename or f"file {index + 1}"
    if upload.size is not None and upload.size > limit:
        raise UploadError(413, f"{name}: too large ({upload.size / 1e6:.1f} MB; the limit is {limit / 1e6:g} MB)")
    path = Path(folder) / f"{index:03d}-{_safe_name(upload.filename, 'upload')}"
    with path.open("wb") as copy:
        shutil.copyfileobj(upload.file, copy)
    return name, path


def _colorized_png(colorizer, name, path, hints=None):
    """PNG bytes of the colorized image at `path`, following `hints` (`Colorizer.colorize`'s);
    UploadError naming `name` when it is no usable image or the hints cannot be followed."""
    try:
        rgb = images.read_rgb(path)
    except images.ImageError as error:
        status = 413 if error.reason == "too_large" else 415
        raise UploadError(status, _problem(name, error)) from None
    try:
        colorized = colorizer.colorize(rgb, hints=hints)
    except ValueError as error:
        if hints is None:
            raise
        # The hints' problem, in the Colorizer's words: no hint input, a malformed or outside point.
        raise UploadError(400, f"{name}: {error}") from None
    buffer = io.BytesIO()
    Image.fromarray(colorized).save(buffer, format="PNG")
    return buffer.getvalue()


def _hints(text, file_count):
    """The `hints` form field's points for `Colorizer.colorize`; None without the field."""
    if text is None:
        return None
    try:
        points = json.loads(text)
    except json.JSONDecodeError as error:
        raise UploadError(400, f"hints: not JSON ({error})") from None
    if not isinstance(points, list):
        raise UploadError(400, "hints: not a list of [x, y, [r, g, b]] points")
    if file_count != 1:
        raise UploadError(400, f"hints: given for one image, and {file_count} files were sent")
    return points


def _problem(name, error):
    """"name: reason (detail)" of an ImageError or VideoError about an upload, which names the
    file as the user did, not its temporary copy."""
    return f"{name}: {error.reason.replace('_', ' ')}" + (f" ({error.detail})" if error.detail else "")


def _zip(results):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:  # PNGs are compressed already
        for name, png in results:
            archive.writestr(name, png)
    return buffer.getvalue()


def _result_names(names):
    """`<stem>.png` for each input name, numbered where two would clash (`images.free_output_name`'s rule)."""
    taken, result = set(), []
    for name in names:
        stem, number = Path(_safe_name(name, "image")).stem or "image", 1
        candidate = f"{stem}.png"
        while candidate in taken:
            number += 1
            candidate = f"{stem}-{number}.png"
        taken.add(candidate)
        result.append(candidate)
    return result


class VideoJobs:
    """Video jobs, run one at a time in a worker thread; each has a temporary folder holding its
    upload and result, deleted when the result is fetched, the job fails, or it expires."""

    def __init__(self, colorizers):
        self._colorizers = colorizers
        self._jobs = {}
        self._lock = threading.Lock()
        self._worker = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="video")

    def start(self, upload, model):
        self._expire()
        folder = Path(tempfile.mkdtemp(prefix="keras-colorize-video-"))
        try:
            name, source = _saved(upload, folder, MAX_VIDEO_BYTES, 0)
            try:
                video.check_source(source)
                video.check_audio(source, folder / "colorized.mp4")
            except video.VideoError as error:
                raise UploadError(415, _problem(name, error)) from None
            colorizer = self._colorizers.get(model)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        job_id = secrets.token_urlsafe(12)
        job = {"state": "queued", "progress": 0.0, "name": name, "folder": folder, "created": time.time()}
        with self._lock:
            self._jobs[job_id] = job
        self._worker.submit(self._run, job, colorizer, source)
        return job_id

    def _run(self, job, colorizer, source):
        job["state"] = "running"

        def progress(done, stated):
            job["progress"] = min(done / stated, 0.99) if stated else 0.0
            job["frames"] = done

        try:
            report = video.colorize_video(colorizer, source, job["folder"] / "colorized.mp4", verbose=False,
                                          on_progress=progress)
        except video.VideoError as error:
            self._fail(job, _problem(job["name"], error))
        except Exception as error:  # noqa: BLE001 - a worker thread's error would vanish, the job left "running"
            self._fail(job, f"{job['name']}: {models.first_line(error)}")
        else:
            job.update(state="done", progress=1.0, summary=report.summary())
        finally:
            source.unlink(missing_ok=True)  # the upload is no longer needed

    @staticmethod
    def _fail(job, message):
        job.update(state="failed", error=message)
        shutil.rmtree(job["folder"], ignore_errors=True)

    def status(self, job_id):
        self._expire()
        job = self._job(job_id)
        return {key: job[key] for key in ("state", "progress", "name", "frames", "summary", "error") if key in job}

    def take_result(self, job_id):
        """(path, download name, cleanup) of a finished job; the job is forgotten."""
        job = self._job(job_id)
        if job["state"] != "done":
            raise UploadError(409, f"video job {job_id}: {job['state']}, no result to fetch")
        with self._lock:
            self._jobs.pop(job_id, None)
        cleanup = BackgroundTask(shutil.rmtree, job["folder"], ignore_errors=True)
        download_name = f"{Path(_safe_name(job['name'], 'video')).stem}-colorized.mp4"
        return job["folder"] / "colorized.mp4", download_name, cleanup

    def _job(self, job_id):
        with self._lock:
            if job_id not in self._jobs:
                raise UploadError(404, f"video job {job_id}: no such job (fetched already, or expired)")
            return self._jobs[job_id]

    def _expire(self):
        with self._lock:
            old = [key for key, job in self._jobs.items()
                   if job["state"] in ("done", "failed") and time.time() - job["created"] > JOB_SECONDS]
            for key in old:
                shutil.rmtree(self._jobs.pop(key)["folder"], ignore_errors=True)

    def close(self):
        # Not waiting for a running job: its folder goes, and it ends failing to write there.
        self._worker.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            for job in self._jobs.values():
                shutil.rmtree(job["folder"], ignore_errors=True)
            self._jobs.clear()


def create_app():
    """The FastAPI application (`uvicorn.run(create_app())`, or Starlette's TestClient)."""
    colorizers = Models()
    jobs = VideoJobs(colorizers)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        jobs.close()  # the server stops: no job's files outlive it

    default_photo_model = shipped.app_photo_model()
    app = FastAPI(title="keras-colorize", summary="Colorize gray photos, sketches and videos.", lifespan=lifespan)

    @app.middleware("http")
    async def refuse_large_bodies(request, call_next):
        # Before the body is read: the multipart parser would spool all of it to disk first.
        limit = MAX_VIDEO_BYTES if request.url.path == "/api/video" else MAX_FILES * MAX_IMAGE_BYTES
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > limit + (1 << 20):
            return _error(413, f"request of {int(length) / 1e6:.1f} MB: above the limit of {limit / 1e6:g} MB")
        return await call_next(request)

    @app.exception_handler(UploadError)
    async def upload_error(request, error):
        return _error(error.status, str(error))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request, error):
        problems = "; ".join(f"{'.'.join(map(str, item['loc'][1:])) or 'request'}: {item['msg']}"
                             for item in error.errors())
        return _error(422, problems)

    @app.exception_handler(Exception)
    async def unexpected_error(request, error):
        return _error(500, f"internal error: {models.first_line(error)}")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page():
        return PAGE.read_text()

    @app.get("/api/models")
    def list_models():
        """The shipped models; `input` says what each colorizes: gray photos or drawn sketches."""
        return {"models": shipped_models(), "max_files": MAX_FILES,
                "max_image_bytes": MAX_IMAGE_BYTES, "max_video_bytes": MAX_VIDEO_BYTES}

    @app.post("/api/colorize", responses={200: {"content": {"image/png": {}, "application/zip": {}}}})
    def colorize(
        files: list[UploadFile] = File(description=f"1 to {MAX_FILES} images"),
        model: str = Form(default_photo_model, description="a shipped model name (GET /api/models)"),
        render_size: int | None = Form(None, ge=1, le=2048,
                                       description="the model's short side in pixels (default: its own size)"),
        response: str = Form("file", pattern="^(file|json)$",
                             description='"file": one PNG, or a zip of several; "json": base64 PNGs (and zip)'),
        hints: str | None = Form(None, description="for a model that takes colour hints, one image's: JSON "
                                 "[[x, y, [r, g, b]], ...], x and y in its pixels, r, g, b 0-255"),
    ):
        """Colorize uploaded images with a shipped model; unreadable files are skipped and named."""
        if len(files) > MAX_FILES:
            raise UploadError(422, f"{len(files)} files: at most {MAX_FILES} a request")
        points = _hints(hints, len(files))
        colorizer = colorizers.get(model, render_size)
        results, skipped = [], []
        with colorizing, tempfile.TemporaryDirectory(prefix="keras-colorize-upload-") as folder:
            for index, upload in enumerate(files):
                try:
                    name, path = _saved(upload, folder, MAX_IMAGE_BYTES, index)
                    results.append((index, name, _colorized_png(colorizer, name, path, points)))
                except UploadError as error:
                    skipped.append(error)
        if not results:
            raise skipped[0] if len(skipped) == 1 else UploadError(
                max(error.status for error in skipped), "; ".join(map(str, skipped)))
        named = list(zip(_result_names(name for _, name, _ in results), (png for *_, png in results)))
        headers = {"X-Skipped": str(len(skipped))}
        if response == "json":
            return JSONResponse({
                "model": model,
                "results": [{"index": index, "file": name, "name": out, "png": base64.b64encode(png).decode()}
                            for (index, name, _), (out, png) in zip(results, named)],
                "zip": base64.b64encode(_zip(named)).decode() if len(named) > 1 else None,
                "skipped": [str(error) for error in skipped],
            }, headers=headers)
        if len(named) == 1:
            return Response(named[0][1], media_type="image/png", headers={
                **headers, "Content-Disposition": f'attachment; filename="{named[0][0]}"'})
        return Response(_zip(named), media_type="application/zip", headers={
            **headers, "Content-Disposition": 'attachment; filename="colorized.zip"'})

    @app.post("/api/video", status_code=202)
    def start_video(file: UploadFile = File(description="a video (MP4, MOV, MKV, AVI, animated GIF)"),
                    model: str = Form(shipped.PHOTO_MODEL)):
        """Start colorizing a video (sound kept); poll GET /api/video/{job}, then fetch its result."""
        return {"job": jobs.start(file, model)}

    @app.get("/api/video/{job_id}")
    def video_status(job_id: str):
        return jobs.status(job_id)

    @app.get("/api/video/{job_id}/result", response_class=FileResponse)
    def video_result(job_id: str):
        path, name, cleanup = jobs.take_result(job_id)
        return FileResponse(path, media_type="video/mp4", filename=name, background=cleanup)

    return app


def _error(status, message):
    return JSONResponse({"error": message}, status_code=status)


def serve(host="127.0.0.1", port=8000):
    """Run the app with uvicorn until interrupted."""
    uvicorn.run(create_app(), host=host, port=port, log_level="warning")


@contextlib.contextmanager
def served_in_background(seconds=30):
    """Run the app on a free local port in a thread while the block runs; yields its base URL
    (for browser tests and `scripts/web_screenshot.py`)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + seconds
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"uvicorn did not start on port {port} within {seconds} s")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=seconds)
