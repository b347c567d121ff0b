//! Alertmanager's time-interval syntax (`times`, `weekdays`,
//! `days_of_month`, `months`, `years`, `location`): one parser for the DSL,
//! the notifier and the importer.
