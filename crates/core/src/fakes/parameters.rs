//! Fakes: The parameter store, and one in a region that does not answer.

use super::prelude::*;

/// Parameters by name; reads or writes under a prefix can be made to fail (transient), as a
/// throttled or unreachable parameter store answers.
#[derive(Debug, Default)]
pub struct FakeParameters {
    /// Values by name.
    pub values: Mutex<BTreeMap<String, String>>,
    /// Prefixes whose reads fail.
    pub refused_reads: Mutex<Vec<String>>,
    /// Prefixes whose writes (create, put, delete) fail.
    pub refused_writes: Mutex<Vec<String>>,
}

impl FakeParameters {
    pub fn with(name: &str, value: &str) -> Self {
        let me = Self::default();
        me.insert(name, value);
        me
    }

    /// Set a parameter as someone else would (no fault applies).
    pub fn insert(&self, name: &str, value: &str) {
        self.values
            .lock()
            .unwrap()
            .insert(name.to_string(), value.to_string());
    }

    /// Remove a parameter as someone else would (no fault applies).
    pub fn remove(&self, name: &str) {
        self.values.lock().unwrap().remove(name);
    }

    pub fn value(&self, name: &str) -> Option<String> {
        self.values.lock().unwrap().get(name).cloned()
    }

    pub fn snapshot(&self) -> BTreeMap<String, String> {
        self.values.lock().unwrap().clone()
    }

    /// From now on, reading a parameter whose name starts with `prefix` fails (transient).
    pub fn refuse_reads_under(&self, prefix: &str) {
        self.refused_reads.lock().unwrap().push(prefix.to_string());
    }

    /// From now on, writing a parameter whose name starts with `prefix` fails (transient).
    pub fn refuse_writes_under(&self, prefix: &str) {
        self.refused_writes.lock().unwrap().push(prefix.to_string());
    }

    fn refused(prefixes: &Mutex<Vec<String>>, name: &str) -> Result<()> {
        if prefixes.lock().unwrap().iter().any(|p| name.starts_with(p)) {
            return Err(Error::new(
                ErrorKind::Transient,
                format!("ssm: {name}: throttled (fake)"),
            ));
        }
        Ok(())
    }
}

impl ParameterStore for FakeParameters {
    async fn get(&self, name: &str) -> Result<Option<String>> {
        Self::refused(&self.refused_reads, name)?;
        Ok(self.value(name))
    }

    async fn create(&self, name: &str, value: &str) -> Result<Created> {
        Self::refused(&self.refused_writes, name)?;
        let mut map = self.values.lock().unwrap();
        if map.contains_key(name) {
            return Ok(Created::AlreadyExists);
        }
        map.insert(name.to_string(), value.to_string());
        Ok(Created::Created)
    }

    async fn create_secret(&self, name: &str, value: &str) -> Result<Created> {
        self.create(name, value).await
    }

    async fn put(&self, name: &str, value: &str) -> Result<()> {
        Self::refused(&self.refused_writes, name)?;
        self.values
            .lock()
            .unwrap()
            .insert(name.to_string(), value.to_string());
        Ok(())
    }

    async fn delete(&self, name: &str) -> Result<()> {
        Self::refused(&self.refused_writes, name)?;
        self.values.lock().unwrap().remove(name);
        Ok(())
    }
}

/// A parameter store in a region that does not answer: every call fails (transient).
#[derive(Debug, Default)]
pub struct DarkParameters;

impl ParameterStore for DarkParameters {
    async fn get(&self, _name: &str) -> Result<Option<String>> {
        Err(Error::new(
            ErrorKind::Transient,
            "HTTP 503 ServiceUnavailable",
        ))
    }

    async fn create(&self, _name: &str, _value: &str) -> Result<Created> {
        Err(Error::new(
            ErrorKind::Transient,
            "HTTP 503 ServiceUnavailable",
        ))
    }

    async fn create_secret(&self, _name: &str, _value: &str) -> Result<Created> {
        Err(Error::new(
            ErrorKind::Transient,
            "HTTP 503 ServiceUnavailable",
        ))
    }

    async fn put(&self, _name: &str, _value: &str) -> Result<()> {
        Err(Error::new(
            ErrorKind::Transient,
            "HTTP 503 ServiceUnavailable",
        ))
    }

    async fn delete(&self, _name: &str) -> Result<()> {
        Err(Error::new(
            ErrorKind::Transient,
            "HTTP 503 ServiceUnavailable",
        ))
    }
}
