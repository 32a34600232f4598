//! The use cases' progress drawn as a bar on standard error, when it is a terminal.

use std::io::IsTerminal;
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sportello_usecases::progress::{Progress, Unwatched};

/// A bar drawn with `template` (indicatif's), or nothing when standard error is not a terminal.
pub fn bar(template: &str) -> Arc<dyn Progress> {
    if !std::io::stderr().is_terminal() {
        return Arc::new(Unwatched);
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    Arc::new(Bar(bar))
}

/// The bar of a registry import, by bytes read.
pub fn importing() -> Arc<dyn Progress> {
    bar("{spinner} importing [{bar:30}] {bytes}/{total_bytes} · {msg} · {elapsed} (about {eta} left)")
}

/// The bar of a payment run, by payments written.
pub fn paying() -> Arc<dyn Progress> {
    bar("{spinner} paying [{bar:30}] {pos}/{len} · {per_sec} · {elapsed} (about {eta} left)")
}

struct Bar(ProgressBar);

impl Progress for Bar {
    fn begin(&self, total: u64) {
        self.0.set_length(total);
    }
    fn reached(&self, done: u64, note: &str) {
        self.0.set_position(done);
        self.0.set_message(note.to_owned());
    }
    fn advance(&self) {
        self.0.inc(1);
    }
    fn end(&self) {
        self.0.finish_and_clear();
    }
}
