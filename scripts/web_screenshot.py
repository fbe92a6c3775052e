"""docs/web.png: the web app's page after colorizing two gray photos, in headless chromium.

    python scripts/web_screenshot.py [--out docs/web.png]

Serves the app (`keras_colorize.web`) on a free local port, uploads the gray versions of two
photos that scikit-image ships through the page's file picker with the default photo model,
sets the first before/after slider to the middle, and saves the browser's window. Needs the
web extra, Selenium and Debian's chromium and chromium-driver (as the browser tests do).
"""

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import skimage.data
from PIL import Image
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from keras_colorize import console  # noqa: E402

console.import_tensorflow_quietly()  # a command's output opens without TensorFlow's start-up lines

from keras_colorize import web  # noqa: E402
from keras_colorize.inference import gray_version  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "web.png")
    args = parser.parse_args(argv)
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1000,900"):
        options.add_argument(argument)
    browser = webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver")))
    try:
        with web.served_in_background() as url, tempfile.TemporaryDirectory() as folder:
            photos = []
            for name, photo in (("coffee", skimage.data.coffee()), ("astronaut", skimage.data.astronaut())):
                photos.append(Path(folder) / f"{name}.png")
                gray = Image.fromarray(gray_version(photo[None])[0])
                gray.resize((384, 384 * gray.height // gray.width)).save(photos[-1])
            browser.get(url)
            WebDriverWait(browser, 30).until(lambda driver: driver.find_elements(By.CSS_SELECTOR, "#model option"))
            browser.find_element(By.ID, "files").send_keys("\n".join(map(str, photos)))
            WebDriverWait(browser, 300).until(lambda driver: len(driver.find_elements(By.CSS_SELECTOR, ".result")) == 2)
            time.sleep(0.5)  # the images decode
            browser.save_screenshot(str(args.out))
    finally:
        browser.quit()
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
