//! Adapting to the backend's health: an additive-increase, multiplicative-decrease controller that turns what the
//! web layer measures (latency, errors) into a factor on the admission rate. It only ever lowers the rate below the
//! operator's maximum, and recovers step by step.

/// The controller's settings and state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HealthController {
    /// Latency (e.g. p95 of backend calls, ms) above which the backend counts as strained.
    pub target_latency_ms: u32,
    /// Error share, per mille, above which the backend counts as strained.
    pub max_error_permille: u32,
    /// The factor never falls below this, per mille, so the queue keeps moving.
    pub floor_permille: u32,
    /// Added per healthy observation, per mille.
    pub step_permille: u32,
    permille: u32,
}

impl HealthController {
    /// A controller starting at full rate.
    pub fn new(target_latency_ms: u32, max_error_permille: u32) -> Self {
        Self { target_latency_ms, max_error_permille, floor_permille: 100, step_permille: 50, permille: 1000 }
    }

    /// The current factor, per mille.
    pub fn permille(&self) -> u32 {
        self.permille
    }

    /// Takes one observation (say every 5 s) and returns the new factor: halved when strained, else one step up.
    pub fn observe(&mut self, latency_ms: u32, error_permille: u32) -> u32 {
        self.permille = if latency_ms > self.target_latency_ms || error_permille > self.max_error_permille {
            (self.permille / 2).max(self.floor_permille)
        } else {
            (self.permille + self.step_permille).min(1000)
        };
        self.permille
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strain_halves_the_rate_and_health_restores_it_gradually_never_above_the_maximum() {
        let mut h = HealthController::new(500, 20);
        let seen: Vec<u32> = [(100, 0), (900, 0), (100, 50), (100, 50), (100, 50), (100, 0), (100, 0)]
            .into_iter()
            .map(|(latency, errors)| h.observe(latency, errors))
            .collect();
        assert_eq!(seen, [1000, 500, 250, 125, 100, 150, 200]);
        for _ in 0..100 {
            h.observe(1, 0);
        }
        assert_eq!(h.permille(), 1000);
    }
}
