"""A Tkinter window to draw a sketch and turn it into a photo, or to colorize a gray photo.

    keras-colorize gui [--sketch-model M] [--photo-model M]

On the left, a drawing canvas with a pencil and an eraser; Convert turns the drawing into a
photo with the sketch model. Open image puts a photo's gray version on the canvas and colorizes
the photo, at its own size, with the photo model. The result shows on the right, and Save
writes it at full size. Models load on first use, so the window opens at once; a model that
cannot be loaded is named in the status line.
"""

import tkinter as tk
from pathlib import Path
from tkinter import filedialog, ttk

import numpy as np
from PIL import Image, ImageDraw, ImageOps, ImageTk

from keras_colorize import images
from keras_colorize.colorizer import Colorizer
from keras_colorize.errors import ColorizeError, ModelLoadError
from keras_colorize.inference import gray_version

CANVAS_SIZE = 256
PAPER = 255
TOOLS = {"pencil": (0, 3), "eraser": (PAPER, 18)}  # gray level, stroke width in pixels
EMPTY_RESULT = "#d9d9d9"
IMAGE_FILES = [("Images", " ".join(f"*{suffix}" for suffix in images.IMAGE_SUFFIXES)), ("All files", "*")]


class NoDisplayError(ColorizeError, RuntimeError):
    """Tk found no display to open a window on."""


class ColorizeApp:
    """The window's widgets and actions; `sketch` (a PIL image) is what Convert colorizes.

    The actions are methods, so that scripts and tests can call them without the mouse.
    """

    def __init__(self, root, sketch_model, photo_model):
        self.root = root
        self.model_sources = {"sketch": sketch_model, "photo": photo_model}
        self._colorizers = {}
        self.sketch = Image.new("L", (CANVAS_SIZE, CANVAS_SIZE), PAPER)
        self._pen = ImageDraw.Draw(self.sketch)
        self._last_point = None
        self.result = None
        self.tool = tk.StringVar(root, "pencil")
        self.status = tk.StringVar(root, "Draw a sketch and press Convert, or open a photo.")
        self._build(root)

    def _build(self, root):
        toolbar = ttk.Frame(root, padding=4)
        toolbar.grid(row=0, column=0, columnspan=2, sticky="w")
        self.tool_buttons = {}
        for tool in TOOLS:
            button = ttk.Radiobutton(toolbar, text=tool.capitalize(), value=tool, variable=self.tool)
            button.pack(side="left", padx=2)
            self.tool_buttons[tool] = button
        self.buttons = {}
        actions = (("Clear", self.clear), ("Convert", self.convert),
                   ("Open image...", self.open_image), ("Save...", self.save))
        for text, action in actions:
            button = ttk.Button(toolbar, text=text, command=action)
            button.pack(side="left", padx=2)
            self.buttons[text.rstrip(".")] = button

        self._sketch_image = ImageTk.PhotoImage(self.sketch)
        self.canvas = tk.Canvas(root, width=CANVAS_SIZE, height=CANVAS_SIZE, highlightthickness=0,
                                cursor="pencil")
        self.canvas.create_image(0, 0, anchor="nw", image=self._sketch_image)
        self.canvas.grid(row=1, column=0, padx=4, pady=4)
        self.canvas.bind("<ButtonPress-1>", self._press)
        self.canvas.bind("<B1-Motion>", self._drag)

        self._result_image = ImageTk.PhotoImage(
            Image.new("RGB", (CANVAS_SIZE, CANVAS_SIZE), EMPTY_RESULT)
        )
        self.result_view = tk.Label(root, image=self._result_image, borderwidth=0,
                                    width=CANVAS_SIZE, height=CANVAS_SIZE, background=EMPTY_RESULT)
        self.result_view.grid(row=1, column=1, padx=4, pady=4)
        # Wrapped within the two views: a long error must not widen the window under the pen.
        ttk.Label(root, textvariable=self.status, padding=4, wraplength=2 * CANVAS_SIZE).grid(
            row=2, column=0, columnspan=2, sticky="w"
        )

    # --- drawing --------------------------------------------------------------------------

    def _press(self, event):
        self._last_point = (event.x, event.y)
        self.draw_line(self._last_point, self._last_point)

    def _drag(self, event):
        point = (event.x, event.y)
        self.draw_line(self._last_point or point, point)
        self._last_point = point

    def draw_line(self, start, end):
        """One stroke segment with the current tool, drawn into `sketch` and shown."""
        level, width = TOOLS[self.tool.get()]
        self._pen.line([start, end], fill=level, width=width)
        radius = width / 2
        for x, y in (start, end):
            # Round ends, so that the segments of a stroke join without gaps.
            self._pen.ellipse((x - radius, y - radius, x + radius, y + radius), fill=level)
        self._sketch_image.paste(self.sketch)

    def clear(self):
        self.sketch.paste(PAPER, (0, 0, *self.sketch.size))
        self._sketch_image.paste(self.sketch)

    # --- actions --------------------------------------------------------------------------

    def convert(self):
        """Turn the drawing into a photo with the sketch model; returns it (uint8 RGB) or None."""
        colorizer = self._colorizer("sketch")
        if colorizer is None:
            return None
        self._say("converting the sketch...")
        return self.show_result(colorizer.colorize(np.asarray(self.sketch)), "sketch converted")

    def open_image(self, path=None):
        """Colorize a photo file (asks for one without `path`); returns the result or None."""
        path = path or filedialog.askopenfilename(parent=self.root, filetypes=IMAGE_FILES)
        if not path:
            return None
        try:
            rgb = images.read_rgb(path)
        except images.ImageError as error:
            self._say(f"cannot open {error}")
            return None
        colorizer = self._colorizer("photo")
        if colorizer is None:
            return None
        # The gray the photo model sees (CIELAB lightness), not PIL's luma.
        gray = Image.fromarray(gray_version(rgb[None])[0, ..., 0])
        self.sketch.paste(ImageOps.pad(gray, self.sketch.size, color=PAPER))
        self._sketch_image.paste(self.sketch)
        self._say(f"colorizing {Path(path).name}...")
        return self.show_result(colorizer.colorize(rgb), f"{Path(path).name} colorized")

    def save(self, path=None):
        """Write the result at full size (asks where without `path`); returns the path or None."""
        if self.result is None:
            self._say("nothing to save yet: Convert a drawing or open an image first")
            return None
        chosen = path or filedialog.asksaveasfilename(
            parent=self.root, defaultextension=".png", filetypes=IMAGE_FILES
        )
        if not chosen:
            return None
        try:
            # The save dialog has asked before replacing a file; a path given in code never does.
            written = images.write_image(chosen, self.result, overwrite=path is None)
        except (OSError, ValueError) as error:
            self._say(f"not saved: {error}")
            return None
        self._say(f"saved {written}")
        return written

    def show_result(self, rgb, message):
        """Show uint8 RGB as the result, scaled to fit; keeps it full size for Save."""
        self.result = rgb
        self._result_image = ImageTk.PhotoImage(
            ImageOps.contain(Image.fromarray(rgb), (CANVAS_SIZE, CANVAS_SIZE))
        )
        self.result_view.configure(image=self._result_image)
        self._say(f"{message} ({rgb.shape[1]}x{rgb.shape[0]})")
        return rgb

    def _colorizer(self, kind):
        if kind not in self._colorizers:
            source = self.model_sources[kind]
            self._say(f"loading the {kind} model {source}...")
            try:
                input_kind = "sketch" if kind == "sketch" else "gray"
                self._colorizers[kind] = Colorizer.load(source).check_input_kind(input_kind)
            except ModelLoadError as error:
                self._say(f"cannot load the {kind} model: {error}; start with --{kind}-model RUN")
                return None
        return self._colorizers[kind]

    def _say(self, message):
        self.status.set(message)
        self.root.update_idletasks()  # show it before a model call blocks the window


def run(sketch_model, photo_model):
    """Open the window and run it until it is closed."""
    try:
        root = tk.Tk(className="keras-colorize")
    except tk.TclError as error:
        raise NoDisplayError(f"cannot open a window ({error})") from None
    root.title("keras-colorize")
    ColorizeApp(root, sketch_model, photo_model)
    root.mainloop()
