//! Time as the gate sees it: the portal's one clock (`sportello_domain::clock`), so tests move time by hand.

pub use sportello_domain::clock::{Clock, ManualClock, system_clock};
