"""A Tkinter window to draw a sketch and turn it into a photo, or to colorize a gray photo.

    keras-colorize gui [--sketch-model M] [--photo-model M]

On the left, a drawing canvas with a pencil and an eraser; Convert turns the drawing into a
photo with the sketch model. Open image puts a photo's gray version on the canvas and colorizes
the photo, at its own size, with the photo model. The result shows on the right, and Save
writes it at full size. Models load on first use, so the window opens at once; a model that
cannot be loaded is named in the status line.

With a photo model that takes colour hints (`keras_colorize.hints`), the Hint tool places
them, as in Zhang et al.'s ideepcolor: click the photo to place a hint (it takes the colour
last chosen) and choose its colour with Colour..., which colours the selected hint; drag a
marker to move its hint; select one in the list and press Delete (or the button) to remove
it. The result follows each change.
"""

import math
import time
import tkinter as tk
from pathlib import Path
from tkinter import colorchooser, filedialog, ttk

import numpy as np
from PIL import Image, ImageDraw, ImageOps, ImageTk

from keras_colorize import images, shipped
from keras_colorize.colorizer import Colorizer
from keras_colorize.errors import ColorizeError, ModelLoadError
from keras_colorize.inference import gray_version

CANVAS_SIZE = 256
PAPER = 255
TOOLS = {"pencil": (0, 3), "eraser": (PAPER, 18)}  # gray level, stroke width in pixels
EMPTY_RESULT = "#d9d9d9"
HINT_RADIUS = 5  # a hint marker's radius on the canvas; a press this near a marker grabs it
FIRST_HINT_COLOUR = (220, 40, 40)
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
        self.photo = None  # the open photo (uint8 RGB), which hints are placed on
        self._photo_box = None  # where it shows on the canvas: (left, top, scale)
        self.hints = []  # [(x, y, (r, g, b))] in the photo's pixels, as `Colorizer.colorize` takes them
        self.current_colour = FIRST_HINT_COLOUR
        self._grabbed = None  # the hint whose marker is being dragged
        self.tool = tk.StringVar(root, "pencil")
        self.status = tk.StringVar(root, "Draw a sketch and press Convert, or open a photo.")
        self._build(root)

    def _build(self, root):
        toolbar = ttk.Frame(root, padding=4)
        toolbar.grid(row=0, column=0, columnspan=2, sticky="w")
        self.tool_buttons = {}
        for tool in (*TOOLS, "hint"):
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
        self.canvas.bind("<ButtonRelease-1>", self._release)

        self._result_image = ImageTk.PhotoImage(
            Image.new("RGB", (CANVAS_SIZE, CANVAS_SIZE), EMPTY_RESULT)
        )
        self.result_view = tk.Label(root, image=self._result_image, borderwidth=0,
                                    width=CANVAS_SIZE, height=CANVAS_SIZE, background=EMPTY_RESULT)
        self.result_view.grid(row=1, column=1, padx=4, pady=4)
        self._build_hint_panel(ttk.Frame(root, padding=4))
        # Wrapped within the two views: a long error must not widen the window under the pen.
        ttk.Label(root, textvariable=self.status, padding=4, wraplength=2 * CANVAS_SIZE).grid(
            row=2, column=0, columnspan=3, sticky="w"
        )

    def _build_hint_panel(self, panel):
        panel.grid(row=1, column=2, sticky="ns")
        ttk.Label(panel, text="Colour hints").pack(anchor="w")
        self.colour_swatch = tk.Label(panel, width=4, background=_hex(self.current_colour))
        self.colour_swatch.pack(anchor="w", pady=2)
        self.buttons["Colour"] = ttk.Button(panel, text="Colour...", command=self.choose_colour)
        self.buttons["Colour"].pack(anchor="w")
        # exportselection off: the selection stays while the canvas or a button has the focus.
        self.hint_list = tk.Listbox(panel, width=18, height=10, exportselection=False, activestyle="none")
        self.hint_list.pack(fill="y", expand=True, pady=4)
        self.hint_list.bind("<<ListboxSelect>>", lambda event: self._show_hints(self.selected_hint()))
        self.buttons["Delete hint"] = ttk.Button(panel, text="Delete hint", command=self.delete_hint)
        self.buttons["Delete hint"].pack(anchor="w")
        self.root.bind("<Delete>", lambda event: self.delete_hint())

    # --- drawing --------------------------------------------------------------------------

    def _press(self, event):
        if self.tool.get() == "hint":
            self._grab_or_add_hint(event.x, event.y)
            return
        self._last_point = (event.x, event.y)
        self.draw_line(self._last_point, self._last_point)

    def _drag(self, event):
        if self.tool.get() == "hint":
            self._drag_marker(event.x, event.y)
            return
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
        self.photo = self._photo_box = None
        self.hints = []
        self._show_hints()

    # --- colour hints ---------------------------------------------------------------------

    def photo_point(self, canvas_x, canvas_y):
        """The photo pixel (x, y) under a canvas point; None off the photo."""
        left, top, scale = self._photo_box
        x, y = math.floor((canvas_x - left) / scale), math.floor((canvas_y - top) / scale)
        height, width = self.photo.shape[:2]
        return (x, y) if 0 <= x < width and 0 <= y < height else None

    def canvas_point(self, x, y):
        """Where photo pixel (x, y) shows on the canvas: its centre."""
        left, top, scale = self._photo_box
        return left + (x + 0.5) * scale, top + (y + 0.5) * scale

    def add_hint(self, x, y):
        """Hint that photo pixel (x, y) is `current_colour`; the new hint is selected."""
        self.hints.append((x, y, self.current_colour))
        self._hints_changed(select=len(self.hints) - 1)

    def move_hint(self, index, x, y):
        self.hints[index] = (x, y, self.hints[index][2])
        self._hints_changed(select=index)

    def delete_hint(self, index=None):
        """Remove hint `index` (default: the selected one)."""
        index = self.selected_hint() if index is None else index
        if index is None:
            self._say("select a hint in the list to delete it")
            return
        del self.hints[index]
        self._hints_changed(select=None)

    def choose_colour(self, rgb=None):
        """Set `current_colour` (asks with a colour chooser without `rgb`), and recolour the
        selected hint with it."""
        if rgb is None:
            rgb, _ = colorchooser.askcolor(_hex(self.current_colour), parent=self.root, title="Hint colour")
            if rgb is None:
                return
        self.current_colour = tuple(int(channel) for channel in rgb)
        self.colour_swatch.configure(background=_hex(self.current_colour))
        index = self.selected_hint()
        if index is not None:
            x, y, _ = self.hints[index]
            self.hints[index] = (x, y, self.current_colour)
            self._hints_changed(select=index)

    def selected_hint(self):
        selection = self.hint_list.curselection()
        return selection[0] if selection else None

    def _grab_or_add_hint(self, canvas_x, canvas_y):
        if not self._takes_hints_now():
            return
        self._grabbed = next((index for index, (x, y, _) in enumerate(self.hints)
                              if _near(self.canvas_point(x, y), (canvas_x, canvas_y))), None)
        if self._grabbed is not None:
            self._show_hints(self._grabbed)
            return
        point = self.photo_point(canvas_x, canvas_y)
        if point is None:
            self._say("click on the photo to place a hint")
        else:
            self.add_hint(*point)

    def _drag_marker(self, canvas_x, canvas_y):
        # Only the marker follows the mouse; the hint moves, and the result updates, on release.
        if self._grabbed is not None and self.photo_point(canvas_x, canvas_y) is not None:
            self.canvas.coords(f"hint{self._grabbed}", *_circle(canvas_x, canvas_y))

    def _release(self, event):
        grabbed, self._grabbed = self._grabbed, None
        point = self.photo_point(event.x, event.y) if grabbed is not None else None
        if point is not None and point != self.hints[grabbed][:2]:
            self.move_hint(grabbed, *point)
        elif grabbed is not None:
            self._show_hints(grabbed)  # dropped off the photo, or where it was: the marker goes back

    def _takes_hints_now(self):
        """Whether hints can be placed: a photo is open and its model takes them; says why not."""
        if self.photo is None:
            self._say("open a photo first: a hint gives the colour of a place on it")
        elif not self._colorizers["photo"].takes_hints:
            self._say(f"the photo model {self.model_sources['photo']} takes no colour hints; "
                      f"start with --photo-model {shipped.HINT_MODEL}")
        else:
            return True
        return False

    def _hints_changed(self, select):
        self._show_hints(select)
        start = time.perf_counter()
        rgb = self._colorizers["photo"].colorize(self.photo, hints=self.hints)
        count = f"{len(self.hints)} hint{'' if len(self.hints) == 1 else 's'}"
        self.show_result(rgb, f"{count}: colorized in {time.perf_counter() - start:.2f} s")

    def _show_hints(self, selected=None):
        """Draw the hints' markers and list them; hint `selected` is selected, its marker outlined in white."""
        self.canvas.delete("hint")
        self.hint_list.delete(0, "end")
        for index, (x, y, colour) in enumerate(self.hints):
            self.canvas.create_oval(*_circle(*self.canvas_point(x, y)), fill=_hex(colour), width=2,
                                    outline="white" if index == selected else "black", tags=("hint", f"hint{index}"))
            self.hint_list.insert("end", f"{x}, {y}  {_hex(colour)}")
            self.hint_list.itemconfigure(index, background=_hex(colour), foreground=_readable_on(colour))
        if selected is not None:
            self.hint_list.selection_set(selected)

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
        shown = ImageOps.contain(gray, self.sketch.size)
        left, top = (CANVAS_SIZE - shown.width) // 2, (CANVAS_SIZE - shown.height) // 2
        self.clear()
        self.sketch.paste(shown, (left, top))
        self._sketch_image.paste(self.sketch)
        self.photo, self._photo_box = rgb, (left, top, shown.width / gray.width)
        self._say(f"colorizing {Path(path).name}...")
        if not colorizer.takes_hints:
            return self.show_result(colorizer.colorize(rgb), f"{Path(path).name} colorized")
        self.tool.set("hint")
        # With no hints, as without, but the graph that takes them is traced now, not at the first click.
        return self.show_result(colorizer.colorize(rgb, hints=[]),
                                f"{Path(path).name} colorized; click it to add colour hints")

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


def _hex(rgb):
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def _readable_on(rgb):
    """Black or white, whichever reads on `rgb`."""
    return "black" if 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] > 128 else "white"


def _circle(x, y):
    return x - HINT_RADIUS, y - HINT_RADIUS, x + HINT_RADIUS, y + HINT_RADIUS


def _near(point, other):
    return abs(point[0] - other[0]) <= HINT_RADIUS + 1 and abs(point[1] - other[1]) <= HINT_RADIUS + 1


def run(sketch_model, photo_model):
    """Open the window and run it until it is closed."""
    try:
        root = tk.Tk(className="keras-colorize")
    except tk.TclError as error:
        raise NoDisplayError(f"cannot open a window ({error})") from None
    root.title("keras-colorize")
    ColorizeApp(root, sketch_model, photo_model)
    root.mainloop()
