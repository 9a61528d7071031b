-- The dead-letter sink keeps any well-formed CloudEvent, whatever its data:
-- text that is not JSON, JSON with a NUL in a string, binary. jsonb refused
-- all three (and a refused dead letter used to be retried forever), so the
-- data is now kept as bytes with its content type, beside the event's other
-- attributes.
ALTER TABLE dead_letters
    ADD COLUMN attributes      jsonb, -- every context attribute and extension, as in structured mode, without data
    ADD COLUMN datacontenttype text,
    ADD COLUMN data            bytea; -- the data, byte for byte; NULL when the event had none

-- The data of a structured-mode event as the old column held it: JSON data
-- inline, text data as a JSON string, binary data in data_base64.
CREATE FUNCTION taskflow_dead_letter_data(event jsonb) RETURNS bytea
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT CASE
        WHEN event ? 'data_base64' THEN decode(event ->> 'data_base64', 'base64')
        WHEN NOT event ? 'data' THEN NULL
        WHEN jsonb_typeof(event -> 'data') = 'string'
             AND coalesce(event ->> 'datacontenttype', 'application/json') !~* 'json'
            THEN convert_to(event ->> 'data', 'UTF8')
        ELSE convert_to((event -> 'data')::text, 'UTF8')
    END $$;

UPDATE dead_letters SET attributes = event - 'data' - 'data_base64',
    datacontenttype = event ->> 'datacontenttype', data = taskflow_dead_letter_data(event);

-- Migrations only add, so the previous revision of the sink, which still
-- writes the whole event to "event" during a rollout, keeps working: its
-- rows are converted as they arrive. "event" can go once no revision writes it.
ALTER TABLE dead_letters ALTER COLUMN event DROP NOT NULL;

CREATE FUNCTION dead_letters_from_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.attributes IS NULL AND NEW.event IS NOT NULL THEN
        NEW.attributes := NEW.event - 'data' - 'data_base64';
        NEW.datacontenttype := NEW.event ->> 'datacontenttype';
        NEW.data := taskflow_dead_letter_data(NEW.event);
        NEW.event := NULL;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER dead_letters_from_event BEFORE INSERT ON dead_letters
    FOR EACH ROW EXECUTE FUNCTION dead_letters_from_event();

ALTER TABLE dead_letters ALTER COLUMN attributes SET NOT NULL;
