//! The pages in a real browser: Chromium (headless) drives every page of a
//! real node (started as every node starts, with its HTTP side on a loopback
//! port, its records written over gRPC) the way an employer, an auditor and
//! the public use them: verify a valid, a suspended and an unknown credential
//! and a date of service, upload a roster and download its report, upload a
//! proof file (and tampered ones). On every page: no console errors and no
//! uncaught exceptions, and a basic accessibility check run in the page
//! (labels, headings, language, image names, text contrast). A full-page
//! screenshot of each page is saved to the folder the test prints, so a person
//! can look.
//!
//! One browser for the whole run (a launch costs more than all the pages).
//! Chromium is looked for at `PEERREG_CHROMIUM`, else `/usr/bin/chromium`; if
//! it is absent the test fails and says how to install it.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chromiumoxide::cdp::browser_protocol::browser::{
    DownloadProgressState, EventDownloadProgress, SetDownloadBehaviorBehavior, SetDownloadBehaviorParams,
};
use chromiumoxide::cdp::browser_protocol::dom::SetFileInputFilesParams;
use chromiumoxide::cdp::browser_protocol::emulation::{
    ClearDeviceMetricsOverrideParams, SetDeviceMetricsOverrideParams,
};
use chromiumoxide::cdp::browser_protocol::log::{EventEntryAdded, LogEntryLevel};
use chromiumoxide::cdp::browser_protocol::page::CaptureScreenshotFormat;
use chromiumoxide::cdp::js_protocol::runtime::{
    ConsoleApiCalledType, EvaluateParams, EventConsoleApiCalled, EventExceptionThrown,
};
use chromiumoxide::handler::viewport::Viewport;
use chromiumoxide::listeners::EventStream;
use chromiumoxide::page::ScreenshotParams;
use chromiumoxide::{Browser, BrowserConfig, Page};
use chrono::{Days, NaiveDate};
use common::board::{discipline, enrol, issue};
use peerreg::auth::{hash_token, TokenEntry};
use peerreg::clock::{Clock, SystemClock};
use peerreg::config::NodeConfig;
use peerreg::pb;
use peerreg::service::client::NodeClient;
use tokio::net::TcpListener;
use tokio_stream::StreamExt;

/// The browser, unless `PEERREG_CHROMIUM` names another.
const DEFAULT_CHROMIUM: &str = "/usr/bin/chromium";

/// The width of a phone (an iPhone 12 to 15, in CSS pixels).
const PHONE_WIDTH: i64 = 390;

/// How long a page may take to appear after a click before the test gives up
/// (a bound so a broken page fails the test instead of hanging it; pages take
/// milliseconds).
const PAGE_WAIT: Duration = Duration::from_secs(20);

/// The accessibility check, run in the page: a list of offenders, empty when
/// the page passes. Inputs need a label (`label[for]`, `aria-label` or
/// `aria-labelledby`); one `h1` and heading levels that never skip; `lang` on
/// `html`; images with a name; text contrast of at least 4.5:1 against the
/// first opaque background up the tree (WCAG AA, applied to all text).
const ACCESSIBILITY_CHECK: &str = r#"(() => {
  const out = [];
  const name = el => {
    let s = el.tagName.toLowerCase();
    if (el.id) s += '#' + el.id;
    const cls = el.getAttribute('class');
    if (cls && cls.trim()) s += '.' + cls.trim().split(/\s+/).join('.');
    return s;
  };
  const short = t => { t = t.replace(/\s+/g, ' ').trim(); return t.length > 50 ? t.slice(0, 50) + '...' : t; };
  const textOf = id => { const e = document.getElementById(id); return e ? e.textContent.trim() : ''; };
  const labelledBy = el => (el.getAttribute('aria-labelledby') || '').split(/\s+/).filter(Boolean).map(textOf).join(' ').trim();
  const lang = document.documentElement.getAttribute('lang');
  if (!lang || !lang.trim()) out.push('html has no lang attribute');
  const labels = Array.from(document.querySelectorAll('label'));
  for (const el of document.querySelectorAll('input, select, textarea')) {
    const type = (el.getAttribute('type') || '').toLowerCase();
    if (type === 'hidden' || type === 'submit') continue;
    const forLabel = el.id && labels.some(l => l.htmlFor === el.id && l.textContent.trim());
    const aria = (el.getAttribute('aria-label') || '').trim();
    if (!forLabel && !aria && !labelledBy(el)) out.push('no label for ' + name(el));
  }
  const headings = Array.from(document.querySelectorAll('h1, h2, h3, h4, h5, h6'));
  const h1s = headings.filter(h => h.tagName === 'H1').length;
  if (h1s !== 1) out.push(h1s + ' h1 elements (want exactly one)');
  let previous = 0;
  for (const h of headings) {
    const level = Number(h.tagName[1]);
    if (level > previous + 1) out.push('heading skips from h' + previous + ' to ' + name(h) + ' "' + short(h.textContent) + '"');
    previous = level;
  }
  for (const el of document.querySelectorAll('img, svg[role=img], [role=img]')) {
    const aria = (el.getAttribute('aria-label') || '').trim();
    const alt = el.tagName === 'IMG' ? (el.getAttribute('alt') || '').trim() : '';
    const title = el.querySelector(':scope > title');
    const titled = el instanceof SVGElement && title && title.textContent.trim();
    if (!aria && !alt && !titled && !labelledBy(el)) out.push('image without a name: ' + name(el));
  }
  const parse = c => {
    const m = /^rgba?\(([^)]*)\)$/.exec(c.trim());
    if (!m) return null;
    const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(v => v.endsWith('%') ? parseFloat(v) / 100 : Number(v));
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const over = (top, bottom) => [0, 1, 2].map(i => top[i] * top[3] + bottom[i] * (1 - top[3])).concat([1]);
  const channel = v => { v /= 255; return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  const luminance = c => 0.2126 * channel(c[0]) + 0.7152 * channel(c[1]) + 0.0722 * channel(c[2]);
  const rgb = c => 'rgb(' + c.slice(0, 3).map(Math.round).join(',') + ')';
  const skip = new Set(['SCRIPT', 'STYLE', 'NOSCRIPT', 'TEMPLATE', 'OPTION', 'TITLE']);
  const seen = new Set();
  for (const el of document.body.querySelectorAll('*')) {
    if (skip.has(el.tagName.toUpperCase())) continue;
    const text = Array.from(el.childNodes).filter(n => n.nodeType === 3).map(n => n.textContent).join('');
    if (!text.trim()) continue;
    if (!el.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true })) continue;
    const style = getComputedStyle(el);
    const fgText = el instanceof SVGElement ? style.fill : style.color;
    let fg = parse(fgText);
    if (!fg) {
      if (el instanceof SVGElement) continue;
      out.push('cannot read the colour of ' + name(el) + ': ' + fgText);
      continue;
    }
    const layers = [];
    for (let n = el; n; n = n.parentElement) {
      const bg = parse(getComputedStyle(n).backgroundColor);
      if (bg && bg[3] > 0) { layers.push(bg); if (bg[3] >= 1) break; }
    }
    let back = [255, 255, 255, 1];
    for (const layer of layers.reverse()) back = over(layer, back);
    if (fg[3] < 1) fg = over(fg, back);
    const [hi, lo] = [luminance(fg), luminance(back)].sort((a, b) => b - a);
    const ratio = (hi + 0.05) / (lo + 0.05);
    if (ratio < 4.5) {
      const line = 'contrast ' + ratio.toFixed(2) + ':1 < 4.5:1 for ' + name(el) + ' "' + short(text) + '" (' + rgb(fg) + ' on ' + rgb(back) + ')';
      if (!seen.has(line)) { seen.add(line); out.push(line); }
    }
  }
  return out;
})()"#;

fn day(date: NaiveDate, offset: i64) -> String {
    let shifted = if offset >= 0 {
        date.checked_add_days(Days::new(offset as u64))
    } else {
        date.checked_sub_days(Days::new(offset.unsigned_abs()))
    };
    shifted.expect("a date in range").to_string()
}

/// The token the test's board records with.
const ADMIN: &str = "admin-secret-for-browser-tests";

/// What the test's node holds, relative to today (pages answer about today
/// unless asked about a date of service).
struct Register {
    today: NaiveDate,
    /// Active today.
    valid: &'static str,
    /// Suspended since 30 days ago; active 60 days ago.
    suspended: &'static str,
    /// Expired 10 days ago; active 100 days ago.
    expired: &'static str,
}

impl Register {
    fn new() -> Register {
        Register {
            today: SystemClock.today(),
            valid: "MS-1001",
            suspended: "MS-1002",
            expired: "MS-1003",
        }
    }

    fn date(&self, offset: i64) -> String {
        day(self.today, offset)
    }

    fn bodies(&self) -> Vec<pb::command::Body> {
        vec![
            enrol("P-1", "Ada Lovelace"),
            issue("P-1", self.valid, &self.date(-400), &self.date(300)),
            enrol("P-2", "Grace Hopper"),
            issue("P-2", self.suspended, &self.date(-400), &self.date(300)),
            discipline(self.suspended, pb::DisciplineKind::Suspension, &self.date(-30), ""),
            enrol("P-3", "Alan Turing"),
            issue("P-3", self.expired, &self.date(-700), &self.date(-10)),
        ]
    }
}

/// Mississippi's node, as `peerreg serve` starts it, with its HTTP side on a
/// loopback port and a profile that issues without prerequisites (this test is
/// about pages, not qualifications).
async fn start_node(dir: &Path) -> peerreg::node::Node {
    let mut config = NodeConfig::for_state("MS").expect("MS");
    config.http = Some("127.0.0.1:0".parse().expect("an address"));
    config.data_dir = dir.to_path_buf();
    config.key_file = dir.join("log.key");
    config.profile = common::permissive_profile(true).into();
    config.tokens = vec![TokenEntry {
        name: "admin".into(),
        sha256: hash_token(ADMIN),
        operations: vec!["*".into()],
    }];
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    peerreg::node::start(config, listener).await.expect("the node starts")
}

/// Where Chromium is, or a failure that says how to get it.
fn chromium() -> PathBuf {
    let path = std::env::var_os("PEERREG_CHROMIUM").map_or_else(|| PathBuf::from(DEFAULT_CHROMIUM), PathBuf::from);
    assert!(
        path.is_file(),
        "no Chromium at {}: the browser tests need one. Install Debian's package \
         (sudo apt-get install chromium; .ci/run does this) or set PEERREG_CHROMIUM \
         to a Chromium or Chrome binary",
        path.display()
    );
    path
}

/// Launches headless Chromium with its profile in `profile` and keeps its
/// connection served.
async fn launch(profile: &Path) -> (Browser, tokio::task::JoinHandle<()>) {
    let executable = chromium();
    let config = BrowserConfig::builder()
        .chrome_executable(&executable)
        .no_sandbox()
        .user_data_dir(profile)
        .window_size(1280, 900)
        .viewport(Viewport {
            width: 1280,
            height: 900,
            ..Viewport::default()
        })
        .arg("--disable-gpu")
        .arg("--disable-dev-shm-usage")
        .build()
        .expect("a browser configuration");
    let (browser, mut handler) = Browser::launch(config)
        .await
        .unwrap_or_else(|e| panic!("Chromium at {} did not start: {e}", executable.display()));
    let events = tokio::spawn(async move { while handler.next().await.is_some() {} });
    (browser, events)
}

/// Everything the scenarios share: the browser, the node's addresses and
/// facts, the folders, and the problems found on pages (collected so that one
/// run reports every page's offenders, not just the first).
struct Site {
    browser: Browser,
    web: String,
    origin: String,
    verifier_key: String,
    log_size: u64,
    register: Register,
    shots: PathBuf,
    files: PathBuf,
    downloads: PathBuf,
    problems: Mutex<Vec<String>>,
}

impl Site {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.web)
    }

    fn problem(&self, page: &str, what: String) {
        self.problems
            .lock()
            .expect("not poisoned")
            .push(format!("{page}: {what}"));
    }
}

/// One browser tab and what it reported: console calls, uncaught exceptions,
/// log entries.
struct Tab {
    page: Page,
    console: EventStream<EventConsoleApiCalled>,
    exceptions: EventStream<EventExceptionThrown>,
    log: EventStream<EventEntryAdded>,
}

/// What is already waiting on `stream`, without waiting for more.
async fn waiting<T>(stream: &mut EventStream<T>) -> Vec<Arc<T>>
where
    T: chromiumoxide::cdp::IntoEventKind + Unpin,
{
    let mut events = Vec::new();
    while let Ok(Some(event)) = tokio::time::timeout(Duration::ZERO, stream.next()).await {
        events.push(event);
    }
    events
}

fn describe_console(event: &EventConsoleApiCalled) -> String {
    let args: Vec<String> = event
        .args
        .iter()
        .map(|a| {
            a.value
                .as_ref()
                .map(|v| v.to_string())
                .or_else(|| a.description.clone())
                .unwrap_or_default()
        })
        .collect();
    format!("console.{:?}: {}", event.r#type, args.join(" "))
}

impl Tab {
    async fn open(site: &Site) -> Tab {
        let page = site.browser.new_page("about:blank").await.expect("a new tab");
        let console = page.event_listener::<EventConsoleApiCalled>().await.expect("listen");
        let exceptions = page.event_listener::<EventExceptionThrown>().await.expect("listen");
        let log = page.event_listener::<EventEntryAdded>().await.expect("listen");
        page.enable_log().await.expect("enable the log domain");
        Tab {
            page,
            console,
            exceptions,
            log,
        }
    }

    /// Evaluates `expression` in the page (awaiting a promise) and returns its value.
    async fn js<T: serde::de::DeserializeOwned>(&self, expression: &str) -> T {
        self.try_js(expression)
            .await
            .unwrap_or_else(|e| panic!("evaluating {expression}: {e}"))
    }

    async fn try_js<T: serde::de::DeserializeOwned>(&self, expression: &str) -> Result<T, String> {
        // As JSON text, so that null and undefined come back as values too.
        let params = EvaluateParams::builder()
            .expression(format!(
                "Promise.resolve({expression}).then(v => JSON.stringify(v === undefined ? null : v))"
            ))
            .await_promise(true)
            .return_by_value(true)
            .build()
            .map_err(|e| e.to_string())?;
        let result = self.page.evaluate_expression(params).await.map_err(|e| e.to_string())?;
        let json: String = result.into_value().map_err(|e| e.to_string())?;
        serde_json::from_str(&json).map_err(|e| e.to_string())
    }

    /// The text of the first element matching `selector` (None if there is none).
    async fn text(&self, selector: &str) -> Option<String> {
        let selector = serde_json::to_string(selector).expect("json");
        self.js(&format!(
            "(() => {{ const e = document.querySelector({selector}); return e ? e.textContent.replace(/\\s+/g, ' ').trim() : null; }})()"
        ))
        .await
    }

    async fn attribute(&self, selector: &str, attribute: &str) -> Option<String> {
        let selector = serde_json::to_string(selector).expect("json");
        let attribute = serde_json::to_string(attribute).expect("json");
        self.js(&format!(
            "(() => {{ const e = document.querySelector({selector}); return e ? e.getAttribute({attribute}) : null; }})()"
        ))
        .await
    }

    async fn goto(&self, site: &Site, path: &str) {
        self.page
            .goto(site.url(path))
            .await
            .unwrap_or_else(|e| panic!("loading {path}: {e}"));
    }

    /// Waits until the page has loaded with `selector` in it, and fails with
    /// the page's `#error` if it answered with one instead.
    async fn expect_element(&self, selector: &str) {
        self.wait_for(&format!("{selector}, #error")).await;
        if self.text(selector).await.is_none() {
            let error = self.text("#error").await.unwrap_or_default();
            let url = self.page.url().await.ok().flatten().unwrap_or_default();
            panic!("{url} has no {selector}; it says: {error}");
        }
    }

    /// Waits until the page has loaded and one of `selector` (a CSS selector
    /// list) is in it; the page's text in the failure if it never is.
    async fn wait_for(&self, selector: &str) {
        let quoted = serde_json::to_string(selector).expect("json");
        let probe = format!("document.readyState === 'complete' && document.querySelector({quoted}) !== null");
        let start = tokio::time::Instant::now();
        while start.elapsed() < PAGE_WAIT {
            if let Ok(true) = self.try_js::<bool>(&probe).await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let body = self.text("body").await.unwrap_or_default();
        panic!(
            "{selector} never appeared on {}; the page says: {}",
            self.page.url().await.ok().flatten().unwrap_or_default(),
            body.chars().take(600).collect::<String>()
        );
    }

    async fn type_into(&self, selector: &str, text: &str) {
        let input = self
            .page
            .find_element(selector)
            .await
            .unwrap_or_else(|e| panic!("no {selector}: {e}"));
        input.click().await.expect("focus").type_str(text).await.expect("type");
    }

    async fn click(&self, selector: &str) {
        self.page
            .find_element(selector)
            .await
            .unwrap_or_else(|e| panic!("no {selector}: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("clicking {selector}: {e}"));
    }

    /// Puts `file` in the file input `selector`, as a person choosing it would.
    async fn choose_file(&self, selector: &str, file: &Path) {
        let input = self
            .page
            .find_element(selector)
            .await
            .unwrap_or_else(|e| panic!("no {selector}: {e}"));
        let params = SetFileInputFilesParams::builder()
            .file(file.display().to_string())
            .backend_node_id(input.backend_node_id)
            .build()
            .expect("parameters");
        self.page.execute(params).await.expect("choose the file");
    }

    /// The checks every page must pass (recorded in `site.problems`, not
    /// panicked on, so one run lists them all), then its screenshot. An
    /// answer that is meant to be refused (`refused`) may have the browser
    /// note its own 4xx status; nothing else may be logged as an error.
    async fn inspect(&mut self, site: &Site, name: &str, refused: bool) {
        // A round trip first: every event the page raised while loading has
        // then been delivered to the listeners.
        let url: String = self.js("location.href").await;
        for event in waiting(&mut self.console).await {
            if matches!(event.r#type, ConsoleApiCalledType::Error | ConsoleApiCalledType::Assert) {
                site.problem(name, describe_console(&event));
            }
        }
        for event in waiting(&mut self.exceptions).await {
            let details = &event.exception_details;
            let what = details
                .exception
                .as_ref()
                .and_then(|e| e.description.clone())
                .unwrap_or_else(|| details.text.clone());
            site.problem(name, format!("uncaught exception: {what}"));
        }
        for event in waiting(&mut self.log).await {
            let entry = &event.entry;
            let own_status = refused && entry.url.as_deref() == Some(url.as_str());
            if entry.level == LogEntryLevel::Error && !own_status {
                site.problem(
                    name,
                    format!(
                        "browser log error: {} ({})",
                        entry.text,
                        entry.url.clone().unwrap_or_default()
                    ),
                );
            }
        }
        let offenders: Vec<String> = self.js(ACCESSIBILITY_CHECK).await;
        for offender in offenders {
            site.problem(name, format!("accessibility: {offender}"));
        }
        self.frame(site, name).await;
        self.screenshot(site, name).await;
    }

    /// Every page names the state and the log origin.
    async fn frame(&self, site: &Site, name: &str) {
        let state = self.text("#state").await;
        if state.as_deref() != Some("Mississippi") {
            site.problem(name, format!("#state is {state:?}, not Mississippi"));
        }
        let origin = self.text("#origin").await;
        if origin.as_deref() != Some(site.origin.as_str()) {
            site.problem(name, format!("#origin is {origin:?}, not {}", site.origin));
        }
    }

    async fn screenshot(&self, site: &Site, name: &str) {
        let params = ScreenshotParams::builder()
            .format(CaptureScreenshotFormat::Png)
            .full_page(true)
            .build();
        let path = site.shots.join(format!("{name}.png"));
        self.page
            .save_screenshot(params, &path)
            .await
            .unwrap_or_else(|e| panic!("screenshot of {name}: {e}"));
    }

    /// The page as a phone shows it (390 CSS pixels wide, the whole page), and
    /// whether it fits that width without scrolling sideways.
    async fn phone_screenshot(&self, site: &Site, name: &str) {
        let phone = |height: i64| SetDeviceMetricsOverrideParams::new(PHONE_WIDTH, height, 1.0, true);
        self.page.execute(phone(844)).await.expect("phone width");
        let height: f64 = self.js("document.documentElement.scrollHeight").await;
        let width: f64 = self.js("document.documentElement.scrollWidth").await;
        if width > PHONE_WIDTH as f64 {
            site.problem(
                name,
                format!("{width} px wide at a phone's {PHONE_WIDTH} px: it scrolls sideways"),
            );
        }
        self.page
            .execute(phone(height.ceil() as i64))
            .await
            .expect("phone height");
        let params = ScreenshotParams::builder().format(CaptureScreenshotFormat::Png).build();
        let path = site.shots.join(format!("{name}.png"));
        let saved = self.page.save_screenshot(params, &path).await;
        self.page
            .execute(ClearDeviceMetricsOverrideParams::default())
            .await
            .expect("desktop width again");
        saved.unwrap_or_else(|e| panic!("phone screenshot of {name}: {e}"));
    }
}

/// The answer page for `number` (and `name`, `date` when given), asked
/// through the form as a person would.
async fn verify(site: &Site, tab: &mut Tab, number: &str, name: Option<&str>, date: Option<&str>) {
    tab.goto(site, "/").await;
    tab.expect_element("form#verify-form").await;
    tab.inspect(site, "verify-form", false).await;
    tab.type_into("input#number", number).await;
    if let Some(name) = name {
        tab.type_into("input#name", name).await;
    }
    if let Some(date) = date {
        tab.type_into("input#date", date).await;
    }
    tab.click("button#verify-submit").await;
    tab.wait_for("section#result, #error").await;
}

/// The answer shows `status` (its word and `data-status`), the number, the
/// holder, the date it is about and the log size it was verified against.
async fn assert_answer(site: &Site, tab: &Tab, number: &str, holder: &str, as_of: &str, status: &str) {
    let error = tab.text("#error").await;
    assert_eq!(error, None, "{number} on {as_of} was refused");
    assert_eq!(
        tab.attribute("section#result", "data-status").await.as_deref(),
        Some(status.to_lowercase().as_str()),
        "data-status of {number} on {as_of}"
    );
    let words = tab.text("#status-words").await.unwrap_or_default();
    assert!(
        words.contains(status),
        "#status-words of {number} on {as_of}: {words:?}"
    );
    assert_eq!(tab.text("#credential-number").await.as_deref(), Some(number));
    let shown = tab.text("#holder").await.unwrap_or_default();
    assert!(shown.contains(holder), "#holder: {shown:?}");
    let date = tab.text("#as-of").await.unwrap_or_default();
    assert!(date.contains(as_of), "#as-of: {date:?} (asked about {as_of})");
    for field in ["#issued-on", "#expires-on"] {
        assert!(
            tab.text(field).await.is_some_and(|t| !t.is_empty()),
            "{field} is missing"
        );
    }
    let size = tab.text("#log-size").await.unwrap_or_default();
    let expected = format!("verified against the signed log at size {}", site.log_size);
    assert!(size.contains(&expected), "#log-size: {size:?}");
    let link = tab.attribute("a#proof-link", "href").await.unwrap_or_default();
    assert!(
        link.ends_with(&format!("/credential/{number}/proof")),
        "a#proof-link: {link:?}"
    );
}

async fn verifying_credentials(site: Arc<Site>) {
    let site = site.as_ref();
    let register = &site.register;
    let today = register.date(0);
    let mut tab = Tab::open(site).await;

    verify(site, &mut tab, register.valid, Some("Ada Lovelace"), None).await;
    assert_answer(site, &tab, register.valid, "Ada Lovelace", &today, "Active").await;
    tab.inspect(site, "verify-active", false).await;
    tab.phone_screenshot(site, "verify-active-phone").await;

    verify(site, &mut tab, register.suspended, None, None).await;
    assert_answer(site, &tab, register.suspended, "Grace Hopper", &today, "Suspended").await;
    let discipline = tab.text("#discipline").await.unwrap_or_default();
    assert!(
        discipline.to_lowercase().contains("suspension") && discipline.contains(&register.date(-30)),
        "#discipline of the suspended credential: {discipline:?}"
    );
    tab.inspect(site, "verify-suspended", false).await;

    // Sixty days ago, before the suspension, the same credential was active.
    let before = register.date(-60);
    verify(site, &mut tab, register.suspended, None, Some(&before)).await;
    assert_answer(site, &tab, register.suspended, "Grace Hopper", &before, "Active").await;
    assert_eq!(
        tab.text("#discipline").await,
        None,
        "no discipline in force on {before}"
    );
    tab.inspect(site, "verify-date-of-service", false).await;

    verify(site, &mut tab, register.expired, None, None).await;
    assert_answer(site, &tab, register.expired, "Alan Turing", &today, "Expired").await;
    tab.inspect(site, "verify-expired", false).await;

    let refusals = [
        ("verify-unknown", "MS-9999", None, None, "no credential"),
        (
            "verify-wrong-name",
            register.valid,
            Some("Someone Else"),
            None,
            "no credential",
        ),
        (
            "verify-malformed-date",
            register.valid,
            None,
            Some("2025-13-45"),
            "date",
        ),
    ];
    for (name, number, holder, date, says) in refusals {
        verify(site, &mut tab, number, holder, date).await;
        let error = tab.text("#error").await;
        assert!(
            error.as_ref().is_some_and(|e| e.to_lowercase().contains(says)),
            "{name}: #error is {error:?} (want a message saying {says:?})"
        );
        assert_eq!(
            tab.text("section#result").await,
            None,
            "{name}: no answer beside the error"
        );
        assert_eq!(tab.attribute("#error", "role").await.as_deref(), Some("alert"));
        tab.inspect(site, name, true).await;
    }
    tab.page.clone().close().await.expect("close the tab");
}

/// (number, date of service, what its row says) for each roster line.
fn roster_lines(register: &Register) -> Vec<(&'static str, String, &'static str)> {
    vec![
        (register.valid, String::new(), "active"),
        (register.suspended, String::new(), "suspended"),
        (register.suspended, register.date(-60), "active"),
        ("MS-9999", String::new(), "no credential"),
        (register.expired, register.date(-100), "active"),
        (register.expired, String::new(), "expired"),
    ]
}

async fn checking_a_roster(site: Arc<Site>) {
    let site = site.as_ref();
    let lines = roster_lines(&site.register);
    let mut csv = String::from("credential_number,legal_name,date_of_service\n");
    for (number, date, _) in &lines {
        csv.push_str(&format!("{number},,{date}\n"));
    }
    let file = site.files.join("roster.csv");
    std::fs::write(&file, csv).expect("write the roster");

    let mut tab = Tab::open(site).await;
    tab.goto(site, "/roster").await;
    tab.expect_element("form#roster-form").await;
    let progress_hidden: Option<bool> = tab
        .js("(() => { const p = document.querySelector('progress#roster-progress'); return p ? !p.checkVisibility() : null; })()")
        .await;
    assert_eq!(
        progress_hidden,
        Some(true),
        "progress#roster-progress exists and is hidden before a submit"
    );
    tab.inspect(site, "roster-form", false).await;

    tab.choose_file("input#roster-file", &file).await;
    tab.click("button#roster-submit").await;
    tab.wait_for("table#roster-results, #error").await;
    assert_eq!(tab.text("#error").await, None, "the roster was refused");
    let rows: Vec<String> = tab
        .js("Array.from(document.querySelectorAll('table#roster-results tr')).filter(r => r.querySelector('td')).map(r => r.innerText.toLowerCase())")
        .await;
    assert_eq!(rows.len(), lines.len(), "one row per line: {rows:#?}");
    for ((number, date, says), row) in lines.iter().zip(&rows) {
        assert!(
            row.contains(&number.to_lowercase()) && row.contains(date.as_str()) && row.contains(says),
            "the row for {number} {date} should say {says}: {row:?}"
        );
    }
    let summary = tab.text("#roster-summary").await;
    assert!(summary.is_some_and(|s| !s.is_empty()), "#roster-summary is missing");
    assert_eq!(
        tab.attribute("a#roster-download", "download").await.as_deref(),
        Some("roster-report.csv")
    );
    tab.inspect(site, "roster-results", false).await;

    let report = download(site, &tab, "a#roster-download").await;
    let report_rows: Vec<String> = report
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_lowercase)
        .collect();
    assert_eq!(
        report_rows.len(),
        lines.len() + 1,
        "a header and one row per line: {report}"
    );
    for ((number, date, says), row) in lines.iter().zip(&report_rows[1..]) {
        assert!(
            row.contains(&number.to_lowercase()) && row.contains(date.as_str()) && row.contains(says),
            "the report's row for {number} {date} should say {says}: {row:?}"
        );
    }
    tab.page.clone().close().await.expect("close the tab");
}

/// Clicks the download link `selector` and returns the file the browser saved.
async fn download(site: &Site, tab: &Tab, selector: &str) -> String {
    let mut progress = site
        .browser
        .event_listener::<EventDownloadProgress>()
        .await
        .expect("listen for downloads");
    let behaviour = SetDownloadBehaviorParams::builder()
        .behavior(SetDownloadBehaviorBehavior::AllowAndName)
        .download_path(site.downloads.display().to_string())
        .events_enabled(true)
        .build()
        .expect("parameters");
    site.browser.execute(behaviour).await.expect("allow downloads");
    tab.click(selector).await;
    let done = tokio::time::timeout(PAGE_WAIT, async {
        while let Some(event) = progress.next().await {
            match event.state {
                DownloadProgressState::Completed => return Some(event.guid.clone()),
                DownloadProgressState::Canceled => return None,
                _ => continue,
            }
        }
        None
    })
    .await;
    let guid = match done {
        Ok(Some(guid)) => guid,
        Ok(None) => panic!("the browser cancelled the download from {selector}"),
        Err(_) => panic!("clicking {selector} downloaded nothing"),
    };
    std::fs::read_to_string(site.downloads.join(&guid)).expect("the downloaded report")
}

/// Flips one character of `text` at `at` to another of the same base64 kind.
fn flip(text: &mut String, at: usize) {
    let old = text.as_bytes()[at];
    let new = if old == b'A' { 'B' } else { 'A' };
    text.replace_range(at..at + 1, &new.to_string());
}

/// The proof file of `number` as the verify page's link serves it, with one
/// character of the checkpoint's signature, or of one entry, changed.
async fn proof_files(site: &Site, number: &str) -> Vec<(&'static str, PathBuf, &'static str)> {
    let response = reqwest::get(site.url(&format!("/credential/{number}/proof")))
        .await
        .expect("fetch the proof file");
    assert!(response.status().is_success(), "the proof file: {}", response.status());
    let text = response.text().await.expect("the proof file's text");
    let honest: serde_json::Value = serde_json::from_str(&text).expect("the proof file is JSON");

    let mut signature = honest.clone();
    let note = signature["checkpoint"].as_str().expect("a checkpoint").to_string();
    let line_start = note.rfind("\u{2014} ").expect("a signature line");
    let sig_at = note[line_start..].rfind(' ').expect("a signature") + line_start + 10;
    let mut forged = note.clone();
    flip(&mut forged, sig_at);
    signature["checkpoint"] = forged.into();

    let mut entry = honest.clone();
    let entries = entry["entries"].as_array_mut().expect("entries");
    let last = entries.last_mut().expect("an entry");
    let mut bytes = last["entry"].as_str().expect("an entry").to_string();
    let middle = bytes.len() / 2;
    flip(&mut bytes, middle);
    last["entry"] = bytes.into();

    let mut files = Vec::new();
    for (name, value, outcome) in [
        ("proof-valid", honest, "valid"),
        ("proof-forged-signature", signature, "invalid"),
        ("proof-altered-entry", entry, "invalid"),
    ] {
        let path = site.files.join(format!("{name}.json"));
        std::fs::write(&path, serde_json::to_vec_pretty(&value).expect("json")).expect("write");
        files.push((name, path, outcome));
    }
    files
}

async fn verifying_proof_files(site: Arc<Site>) {
    let site = site.as_ref();
    let files = proof_files(site, site.register.valid).await;
    let mut tab = Tab::open(site).await;
    for (name, path, outcome) in files {
        for fresh in [false, true] {
            tab.goto(site, "/verify-proof").await;
            tab.expect_element("form#proof-form").await;
            tab.inspect(site, "proof-form", false).await;
            tab.choose_file("input#proof-file", &path).await;
            if fresh {
                tab.click("input#fresh").await;
            }
            tab.click("button#proof-submit").await;
            tab.wait_for("section#result, #error").await;
            let shown = tab.attribute("section#result", "data-outcome").await;
            let error = tab.text("#error").await;
            assert_eq!(
                shown.as_deref(),
                Some(outcome),
                "{name} (fresh: {fresh}): data-outcome (#error: {error:?})"
            );
            let words = tab.text("#outcome-words").await.unwrap_or_default();
            assert!(!words.is_empty(), "{name}: #outcome-words explains the outcome");
            let page = if fresh {
                format!("{name}-fresh")
            } else {
                name.to_string()
            };
            // An invalid proof is answered with a 4xx status, which the browser notes.
            tab.inspect(site, &page, outcome == "invalid").await;
        }
    }
    tab.page.clone().close().await.expect("close the tab");
}

async fn reading_the_workforce_and_the_log(site: Arc<Site>) {
    let site = site.as_ref();
    let mut tab = Tab::open(site).await;
    tab.goto(site, "/workforce").await;
    tab.expect_element("svg#workforce-chart").await;
    for selector in [
        "svg#workforce-chart",
        "table#workforce-table",
        "table#workforce-monthly",
    ] {
        assert!(tab.text(selector).await.is_some(), "/workforce has no {selector}");
    }
    assert_eq!(
        tab.attribute("svg#workforce-chart", "role").await.as_deref(),
        Some("img")
    );
    tab.inspect(site, "workforce", false).await;

    tab.goto(site, "/log").await;
    tab.expect_element("pre#checkpoint").await;
    let size = tab.text("#log-size").await.unwrap_or_default();
    assert!(size.contains(&site.log_size.to_string()), "#log-size: {size:?}");
    let checkpoint = tab.text("pre#checkpoint").await.unwrap_or_default();
    assert!(
        checkpoint.starts_with(&site.origin) && checkpoint.contains('\u{2014}'),
        "pre#checkpoint is not the signed note: {checkpoint:?}"
    );
    assert_eq!(
        tab.text("code#verifier-key").await.as_deref(),
        Some(site.verifier_key.as_str())
    );
    let audit = tab.text("#audit-command").await.unwrap_or_default();
    assert!(audit.contains("peerreg audit"), "#audit-command: {audit:?}");
    tab.inspect(site, "log", false).await;

    tab.goto(site, "/no-such-page").await;
    tab.wait_for("#error").await;
    tab.inspect(site, "not-found", true).await;
    tab.page.clone().close().await.expect("close the tab");
}

/// A clean folder for this run's screenshots, under the build's temporary
/// folder so it survives the test for a person to look at.
fn screenshot_folder() -> PathBuf {
    let folder = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-screenshots");
    if folder.exists() {
        std::fs::remove_dir_all(&folder).expect("clear old screenshots");
    }
    std::fs::create_dir_all(&folder).expect("a screenshot folder");
    folder
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_works_in_a_real_browser() {
    let executable = chromium(); // fails first, and clearly, without a browser
    let dir = tempfile::tempdir().expect("temp dir");
    let node = start_node(&dir.path().join("ms")).await;
    let register = Register::new();
    let board = NodeClient::connect(&node.endpoint(), Some(ADMIN.into()))
        .await
        .expect("connect");
    for (i, body) in register.bodies().into_iter().enumerate() {
        board.record(format!("browser-{i}"), body).await.expect("recorded");
    }
    let web = node.web_endpoint().expect("the node serves its pages");
    let shots = screenshot_folder();
    for sub in ["profile", "files", "downloads"] {
        std::fs::create_dir_all(dir.path().join(sub)).expect("mkdir");
    }
    let (mut browser, events) = launch(&dir.path().join("profile")).await;
    let version = browser.version().await.map(|v| v.product).unwrap_or_default();
    let site = Arc::new(Site {
        browser,
        web,
        origin: node.ledger().verifier().name().to_string(),
        verifier_key: node.startup().verifier_key.clone(),
        log_size: node.ledger().registry().size,
        register,
        shots: shots.clone(),
        files: dir.path().join("files"),
        downloads: dir.path().join("downloads"),
        problems: Mutex::new(Vec::new()),
    });

    // Each scenario in its own task, so that one failing still lets the
    // others run and report.
    let mut failures = Vec::new();
    for (name, scenario) in [
        (
            "verifying credentials",
            tokio::spawn(verifying_credentials(site.clone())),
        ),
        ("checking a roster", tokio::spawn(checking_a_roster(site.clone()))),
        (
            "verifying proof files",
            tokio::spawn(verifying_proof_files(site.clone())),
        ),
        (
            "the workforce and the log",
            tokio::spawn(reading_the_workforce_and_the_log(site.clone())),
        ),
    ] {
        if let Err(e) = scenario.await {
            let why = e
                .try_into_panic()
                .ok()
                .and_then(|p| {
                    p.downcast_ref::<String>()
                        .cloned()
                        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                })
                .unwrap_or_else(|| "cancelled".into());
            failures.push(format!("{name}: {why}"));
        }
    }

    let site = Arc::into_inner(site).expect("the scenarios are done");
    browser = site.browser;
    let _ = browser.close().await;
    let _ = browser.wait().await;
    events.abort();
    node.stop().await.expect("the node stops cleanly");

    // Past the test harness's capture: a person should see where to look.
    let mut out = std::io::stdout();
    let _ = writeln!(
        out,
        "browser screenshots ({} with {}): {}",
        version,
        executable.display(),
        shots.display()
    );
    let problems = site.problems.into_inner().expect("not poisoned");
    assert!(
        failures.is_empty() && problems.is_empty(),
        "{} scenario(s) failed:\n  {}\n{} page problem(s):\n  {}",
        failures.len(),
        failures.join("\n  "),
        problems.len(),
        problems.join("\n  ")
    );
}
