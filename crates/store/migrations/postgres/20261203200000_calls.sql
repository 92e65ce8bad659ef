-- A logged phone call (when it began, how long, which number) as JSON.
ALTER TABLE contacts ADD COLUMN phone_call TEXT;
