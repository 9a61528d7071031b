package store

// DBErr exposes dbErr to the external tests, which feed it real server errors.
var DBErr = dbErr
