//! Fakes: HTTP as the health probes see it.

use super::prelude::*;

/// HTTP answers by URL (unknown URLs fail to connect); counts requests. Scripted answers
/// ([`FakeHttp::script`]) are given first, one per request, then the standing answer.
#[derive(Debug, Default)]
pub struct FakeHttp {
    pub answers: Mutex<BTreeMap<String, HttpObservation>>,
    pub scripted: Mutex<BTreeMap<String, std::collections::VecDeque<(u16, String)>>>,
    pub requests: Mutex<Vec<String>>,
}

impl FakeHttp {
    /// The next requests to `url` get these answers (status, body), in order.
    pub fn script(&self, url: &str, answers: &[(u16, &str)]) {
        self.scripted.lock().unwrap().insert(
            url.into(),
            answers.iter().map(|(s, b)| (*s, b.to_string())).collect(),
        );
    }

    pub fn answer(&self, url: &str, status: u16, body: &str) {
        self.answers.lock().unwrap().insert(
            url.into(),
            HttpObservation::Response {
                status,
                body: body.into(),
                elapsed_ms: 3,
            },
        );
    }

    pub fn time_out(&self, url: &str) {
        self.answers
            .lock()
            .unwrap()
            .insert(url.into(), HttpObservation::TimedOut { elapsed_ms: 2000 });
    }

    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

impl HttpGetter for FakeHttp {
    async fn get(&self, url: &str, _timeout: Duration) -> HttpObservation {
        self.requests.lock().unwrap().push(url.to_string());
        if let Some((status, body)) = self
            .scripted
            .lock()
            .unwrap()
            .get_mut(url)
            .and_then(|q| q.pop_front())
        {
            return HttpObservation::Response {
                status,
                body,
                elapsed_ms: 3,
            };
        }
        self.answers
            .lock()
            .unwrap()
            .get(url)
            .cloned()
            .unwrap_or(HttpObservation::Failed {
                reason: "connection refused".into(),
                elapsed_ms: 1,
            })
    }
}
