package mcpserver

import "strings"

// The tools' JSON Schemas (draft 2020-12), written out so that an agent
// reads the contract's words. Inputs describe what the REST code validates
// (the server checks every argument itself and answers the API's field
// errors); outputs describe exactly what the tools return, since clients
// validate structured content against them.

// fill replaces {{name}} in a schema with a shared part.
func fill(s string, parts ...string) string {
	for i := 0; i+1 < len(parts); i += 2 {
		s = strings.ReplaceAll(s, "{{"+parts[i]+"}}", parts[i+1])
	}
	return s
}

const (
	dateIn = `{"type":["string","null"],"description":"RFC 3339 with offset, e.g. 2031-05-04T09:00:00+02:00"}`
	dueIn  = `{"type":["string","null"],"description":"RFC 3339 with offset, e.g. 2031-05-04T09:00:00+02:00; or a date alone, ` +
		`2031-05-04, for an all-day task (read in the user's settings timezone, or the recurrence pattern's)"}`
	dateOut   = `{"type":["string","null"]}`
	localPart = `{"type":"object","description":"the date as local wall-clock time","properties":{` +
		`"local":{"type":"string","description":"wall-clock time without offset, 2031-05-04T09:00:00"},` +
		`"weekday":{"type":"string"},"offset":{"type":"string","description":"+02:00"},` +
		`"timezone":{"type":"string","description":"IANA zone"},` +
		`"all_day":{"type":"boolean","description":"true for an all-day due date: local is the date alone, 2031-05-04"}},` +
		`"required":["local","weekday","offset","timezone"]}`
	timezoneIn = `{"type":"string","description":"IANA zone in which dates in the result are also given as local time ` +
		`(default: the task's recurrence timezone, else UTC)"}`
)

var (
	localOrNull = `{"anyOf":[` + localPart + `,{"type":"null"}]}`

	patternProps = `"frequency":{"type":"string","enum":["daily","weekly","monthly","yearly"]},` +
		`"interval":{"type":"integer","minimum":1},` +
		`"days_of_week":{"type":"array","items":{"type":"integer","minimum":0,"maximum":6},"description":"weekly: 0 = Sunday … 6 = Saturday"},` +
		`"day_of_month":{"type":"integer","description":"1..31, or -1 = last day of the month"},` +
		`"month":{"type":"integer","minimum":1,"maximum":12},` +
		`"occurrences":{"type":"integer","minimum":1,"description":"at most this many occurrences in all"},` +
		`"timezone":{"type":"string","description":"IANA zone the pattern is evaluated in; default UTC"},` +
		`"rrule":{"type":"string","description":"an RFC 5545 RRULE instead of the fields above, e.g. FREQ=MONTHLY;BYDAY=2TU"},` +
		`"repeat_from":{"type":["string","null"],"enum":["due","completion",null],"description":"due (default): the series' own ` +
		`dates; completion: the next occurrence counts from the day the last one was completed or skipped, at the series' time of day"}`

	patternIn = `{"type":["object","null"],"additionalProperties":false,"properties":{` + patternProps +
		`,"end_date":` + dateIn + `}}`

	patternOut = `{"type":["object","null"],"properties":{` + patternProps +
		`,"end_date":{"type":"string"},"end_date_local":` + localPart + `}}`

	createProps = `"title":{"type":"string","description":"1..200 characters"},` +
		`"description":{"type":["string","null"],"description":"up to 10000 characters"},` +
		`"priority":{"type":["string","null"],"enum":["low","medium","high","urgent",null],"description":"default medium"},` +
		`"tags":{"type":["array","null"],"items":{"type":"string"},"description":"up to 20, each 1..50 characters"},` +
		`"due_date":` + dueIn + `,"reminder_time":` + dateIn + `,"reminders":` + remindersIn + `,` +
		`"is_recurring":{"type":["boolean","null"]},"recurrence_pattern":` + patternIn

	// remindersIn is a task's reminders (API: several and relative reminders).
	remindersIn = `{"type":["array","null"],"maxItems":5,"description":"up to 5 reminders, each {\"at\": RFC 3339} or ` +
		`{\"before_due\": an RFC 5545 duration such as PT15M, P1D, P1W} (relative ones move with the due date); replaces reminder_time",` +
		`"items":{"type":"object","additionalProperties":false,"properties":{"at":{"type":"string"},"before_due":{"type":"string"}}}}`

	snoozeIn = `{"type":"object","additionalProperties":false,"properties":{"notification_id":{"type":"string"},` +
		`"minutes":{"type":"integer","minimum":1,"maximum":10080},"until":{"type":"string","description":"RFC 3339, at most 30 days ahead"},` +
		`"timezone":` + timezoneIn + `},"required":["notification_id"]}`

	idempotencyIn = `"idempotency_key":{"type":"string","maxLength":255,"description":"makes a retry with the same key and ` +
		`task return the first result instead of creating another task (the REST Idempotency-Key)"}`

	createItem = `{"type":"object","additionalProperties":false,"properties":{` + createProps + `,` + idempotencyIn +
		`},"required":["title"]}`

	addTaskIn = `{"type":"object","additionalProperties":false,"properties":{` + createProps + `,` + idempotencyIn +
		`,"timezone":` + timezoneIn + `},"required":["title"]}`

	addTasksIn = `{"type":"object","additionalProperties":false,"properties":{"tasks":{"type":"array","minItems":1,` +
		`"maxItems":100,"items":` + createItem + `},"timezone":` + timezoneIn + `},"required":["tasks"]}`

	taskIDIn = `"task_id":{"type":"string","description":"the task's id (a UUID)"}`

	updateIn = `{"type":"object","additionalProperties":false,"properties":{` + taskIDIn + `,` +
		`"if_match_version":{"type":"integer","minimum":1,"description":"change only if the task's version is still this"},` +
		`"status":{"type":"string","enum":["active","completed"]},` +
		createProps +
		`,"timezone":` + timezoneIn + `},"required":["task_id"]}`

	listProps = `"status":{"type":"string","enum":["active","pending","completed","skipped","all"],"description":"default all"},` +
		`"priority":{"type":["string","array"],"items":{"type":"string","enum":["low","medium","high","urgent"]},"description":"any of these"},` +
		`"tags":{"type":["string","array"],"items":{"type":"string"}},` +
		`"tag_mode":{"type":"string","enum":["any","all"],"description":"default any"},` +
		`"due_before":{"type":"string","description":"RFC 3339; inclusive"},"due_after":{"type":"string","description":"RFC 3339; inclusive"},` +
		`"overdue":{"type":"boolean","description":"due in the past and not completed"},` +
		`"sort":{"type":"string","enum":["due_date","priority","title","created_at","updated_at"]},` +
		`"order":{"type":"string","enum":["asc","desc"]},` +
		`"limit":{"type":"integer","minimum":1,"maximum":500,"description":"default 50"},` +
		`"cursor":{"type":"string","description":"next_cursor of the previous page"},"timezone":` + timezoneIn

	emptyIn = `{"type":"object","additionalProperties":false,"properties":{}}`
	// settingsIn and settingsOut are GET/PATCH /api/settings' bodies.
	settingsIn = `{"type":"object","additionalProperties":false,"properties":{` +
		`"timezone":{"type":"string","description":"IANA zone all-day due dates are read in, e.g. Europe/Berlin"},` +
		`"all_day_reminder_time":{"type":"string","description":"HH:MM on an all-day task's date its relative reminders count back from"}}}`
	settingsOut = `{"type":"object","properties":{"timezone":{"type":"string"},"all_day_reminder_time":{"type":"string"}},` +
		`"required":["timezone","all_day_reminder_time"]}`

	notificationsIn = `{"type":"object","additionalProperties":false,"properties":{` +
		`"unread_only":{"type":"boolean","description":"only notifications not marked read (a page may then hold fewer than limit)"},` +
		`"limit":{"type":"integer","minimum":1,"maximum":500},"cursor":{"type":"string"},"timezone":` + timezoneIn + `}}`

	previewIn = `{"type":"object","additionalProperties":false,"properties":{"due_date":{"type":"string","description":"RFC 3339: the first occurrence; a date (2031-05-04) previews a DATE series of all-day tasks"},` +
		`"recurrence_pattern":` + strings.Replace(patternIn, `["object","null"]`, `"object"`, 1) + `,` +
		`"count":{"type":"integer","minimum":1,"maximum":50,"description":"default 5"}},"required":["due_date","recurrence_pattern"]}`

	taskSchema = fill(`{"type":"object","properties":{"id":{"type":"string"},"title":{"type":"string"},`+
		`"description":{"type":"string"},"status":{"type":"string","enum":["active","completed","skipped"]},`+
		`"priority":{"type":"string","enum":["low","medium","high","urgent"]},"tags":{"type":"array","items":{"type":"string"}},`+
		`"due_date":{{date}},"reminder_time":{{date}},"reminders":{"type":"array","items":{"type":"object","properties":{`+
		`"at":{"type":"string"},"before_due":{"type":"string"}},"required":["at"]}},"is_recurring":{"type":"boolean"},"recurrence_pattern":{{pattern}},`+
		`"series_id":{"type":["string","null"]},"completed_at":{{date}},"created_at":{"type":"string"},"updated_at":{"type":"string"},`+
		`"version":{"type":"integer","description":"increases with every change; if_match_version compares with it"},`+
		`"due_date_local":{{local?}},"reminder_time_local":{{local?}},"completed_at_local":{{local?}},`+
		`"created_at_local":{{local}},"updated_at_local":{{local}}},`+
		`"required":["id","title","description","status","priority","tags","due_date","reminder_time","is_recurring",`+
		`"recurrence_pattern","series_id","completed_at","created_at","updated_at","version"]}`,
		"date", dateOut, "pattern", patternOut, "local?", localOrNull, "local", localPart)

	taskOut = taskSchema

	completeOut = `{"type":"object","properties":{"task":` + taskSchema + `,"next_due_date":` + dateOut +
		`,"next_due_date_local":` + localOrNull + `},"required":["task","next_due_date"]}`

	deletedOut = `{"type":"object","properties":{"deleted":{"type":"boolean"},"task_id":{"type":"string"}},"required":["deleted","task_id"]}`

	tagSchema = `{"type":"object","properties":{"name":{"type":"string"},"color":{"type":"string"},"count":{"type":"integer"}},` +
		`"required":["name","color","count"]}`

	historySchema = `{"type":"object","properties":{"event_id":{"type":"string"},"type":{"type":"string"},` +
		`"time":{"type":"string"},"time_local":` + localPart + `,"source":{"type":["string","null"]},` +
		`"actor":{"type":["string","null"],"enum":["user","agent","recurrence",null]},"changes":{"type":["object","null"],"additionalProperties":` +
		`{"type":"object","properties":{"from":{},"to":{}}}}},"required":["event_id","type","time","time_local"]}`

	notificationSchema = `{"type":"object","properties":{"id":{"type":"string"},"task_id":{"type":"string"},` +
		`"title":{"type":"string"},"message":{"type":"string"},"remind_at":{"type":"string"},"delivered_at":{"type":"string"},` +
		`"read":{"type":"boolean"},"snoozed_until":{"type":["string","null"]},"remind_at_local":` + localPart + `,"delivered_at_local":` + localPart + `},` +
		`"required":["id","task_id","title","remind_at","delivered_at","read"]}`

	previewOut = `{"type":"object","properties":{"occurrences":{"type":"array","items":{"type":"object","properties":{` +
		`"at":{"type":"string"},"local":{"type":"string"},"offset":{"type":"string"},"weekday":{"type":"string"},` +
		`"timezone":{"type":"string"}},"required":["at","local","offset","weekday","timezone"]}}},"required":["occurrences"]}`
)

// listIn is list_tasks' (or, with q, search_tasks') input schema.
func listIn(search bool) string {
	props := listProps
	req := ""
	if search {
		props = `"q":{"type":"string","description":"the words to find"},` + props
		req = `,"required":["q"]`
	}
	return `{"type":"object","additionalProperties":false,"properties":{` + props + `}` + req + `}`
}

// idIn is the input schema of a tool that takes a task id (and timezone).
func idIn() string {
	return `{"type":"object","additionalProperties":false,"properties":{` + taskIDIn + `,"timezone":` + timezoneIn +
		`},"required":["task_id"]}`
}

// itemsOut is {items} (with next_cursor when paged) of item.
func itemsOut(item string, paged bool) string {
	s := `{"type":"object","properties":{"items":{"type":"array","items":` + item + `}`
	req := `"items"`
	if paged {
		s += `,"next_cursor":{"type":["string","null"]}`
		req += `,"next_cursor"`
	}
	return s + `},"required":[` + req + `]}`
}
