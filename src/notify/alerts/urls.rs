//! One shared copy of each generator URL among the stored alerts.

use crate::notify::alert::SharedStr;

/// The generator URLs of the stored alerts, one shared copy each.
///
/// Alerts of one rule all link to the same URL (a graph of the rule's
/// expression), so storing it once per alert would repeat the same ~100
/// bytes hundreds of thousands of times. The writer replaces every accepted
/// or replayed alert's URL with the copy here. A URL no alert uses any more
/// is held by this set alone (`Arc::strong_count == 1`) and is dropped at
/// the next prune; prunes run when the set has doubled since the last one
/// (so their cost is amortised over the insertions), when a compaction
/// starts and after a garbage collection removed alerts.
#[derive(Debug, Default)]
pub(super) struct UrlInterner {
    urls: std::collections::HashSet<SharedStr, fnv::FnvBuildHasher>,
    /// Distinct URLs kept by the last prune.
    kept_at_last_prune: usize,
}

/// Below this many distinct URLs the set is never pruned for its size.
const URL_PRUNE_MIN: usize = 64;

impl UrlInterner {
    /// The shared copy of `url`, added when it is new.
    pub(super) fn intern(&mut self, url: &str) -> SharedStr {
        if let Some(shared) = self.urls.get(url) {
            return shared.clone();
        }
        let limit = self.kept_at_last_prune.saturating_mul(2).max(URL_PRUNE_MIN);
        if self.urls.len() >= limit {
            self.prune();
        }
        let shared = SharedStr::from(url);
        self.urls.insert(shared.clone());
        shared
    }

    /// Drops the URLs no alert holds any more. Only the writer clones from
    /// this set, so a URL it alone holds cannot gain a holder meanwhile.
    pub(super) fn prune(&mut self) {
        self.urls.retain(|url| url.holders() > 1);
        self.kept_at_last_prune = self.urls.len();
        self.urls.shrink_to(self.urls.len().saturating_mul(2));
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.urls.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_interner_drops_urls_nobody_holds() {
        let mut urls = UrlInterner::default();
        let kept = urls.intern("http://kept");
        assert!(SharedStr::ptr_eq(&kept, &urls.intern("http://kept")));
        drop(urls.intern("http://dropped"));
        assert_eq!(urls.len(), 2);
        urls.prune();
        assert_eq!(urls.len(), 1);
        assert!(SharedStr::ptr_eq(&kept, &urls.intern("http://kept")));
        // Growth alone prunes: a stream of URLs nobody keeps stays bounded.
        for i in 0..10_000 {
            drop(urls.intern(&format!("http://once/{i}")));
        }
        assert!(urls.len() <= 2 * URL_PRUNE_MIN, "{}", urls.len());
        assert!(SharedStr::ptr_eq(&kept, &urls.intern("http://kept")));
    }
}
