"""Screenshots of the dashboard as a person sees it (light, dark, phone), for a look before a change lands.

    .venv/bin/python scripts/screenshots.py [--base http://127.0.0.1:8000] [--out DIR] [--lang zh-hans] [path ...]

--lang zh-hans: a Chinese browser (locale zh-CN), and the member's language switched to 简体中文 after sign-in
(it is the member's choice, so it stays so for them until switched back); files are named …-zh-hans-light.png.

Needs a running dashboard (python3 dev.py start) and Debian's Chromium."""

import argparse
from pathlib import Path

from playwright.sync_api import sync_playwright

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
DEFAULT_PATHS = [
    "/generate/",
    "/history/",
    "/catalog/",
    "/training/datasets/",
    "/training/",
    "/settings/",
    "/describe/",
    "/team/members/",
    "/team/quotas/",
    "/team/usage/",
    "/team/audit/",
    "/settings/team-account/",
]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--out", default="screenshots")
    parser.add_argument("--user", default="demo")
    parser.add_argument("--password", default="demo-studio")
    parser.add_argument("--lang", default="en", choices=["en", "zh-hans"])
    parser.add_argument("paths", nargs="*", default=DEFAULT_PATHS)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        for label, viewport, scheme in [
            ("light", {"width": 1400, "height": 900}, "light"),
            ("dark", {"width": 1400, "height": 900}, "dark"),
            ("phone", {"width": 390, "height": 844}, "light"),
        ]:
            if args.lang != "en":
                label = f"{args.lang}-{label}"
            locale = "zh-CN" if args.lang == "zh-hans" else "en-US"
            page = browser.new_page(viewport=viewport, color_scheme=scheme, locale=locale)
            page.goto(args.base + "/accounts/login/")
            page.screenshot(path=out / f"login-{label}.png")
            page.locator("input[name=username]").fill(args.user)
            page.locator("input[name=password]").fill(args.password)
            page.locator('form[action="/accounts/login/"] button').first.click()
            page.wait_for_load_state()
            switch = page.locator(f'form[action="/settings/language/"] input[name=language][value="{args.lang}"]')
            if switch.count():
                with page.expect_navigation():
                    switch.first.evaluate("input => input.form.submit()")
            for path in args.paths:
                page.goto(args.base + path)
                page.wait_for_timeout(400)
                name = path.strip("/").replace("/", "-").replace("?", "_") or "home"
                page.screenshot(path=out / f"{name}-{label}.png", full_page=True)
            page.close()
        browser.close()
    print(f"Screenshots in {out}/")


if __name__ == "__main__":
    main()
