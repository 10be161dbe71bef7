-- AUTODIGI Plus demo schema (fictional): Connect chat, CRM, Adtech. Portable DDL: runs unchanged
-- on SQLite, PostgreSQL and MariaDB/MySQL.

CREATE TABLE accounts (
  id INTEGER NOT NULL PRIMARY KEY,
  email VARCHAR(255) NOT NULL,
  password_hash VARCHAR(255) NOT NULL,
  display_name VARCHAR(120),
  company VARCHAR(120),
  phone VARCHAR(40),
  created_at TIMESTAMP NULL,
  last_login TIMESTAMP NULL
);

CREATE TABLE devices (
  id INTEGER NOT NULL PRIMARY KEY,
  account_id INTEGER NOT NULL,
  device_type VARCHAR(40),
  os VARCHAR(40),
  browser VARCHAR(40),
  ip_address VARCHAR(45),
  first_seen TIMESTAMP NULL,
  FOREIGN KEY (account_id) REFERENCES accounts (id)
);

CREATE TABLE sessions (
  id INTEGER NOT NULL PRIMARY KEY,
  account_id INTEGER NOT NULL,
  device_id INTEGER,
  ip_address VARCHAR(45),
  started_at TIMESTAMP NULL,
  last_seen TIMESTAMP NULL,
  FOREIGN KEY (account_id) REFERENCES accounts (id),
  FOREIGN KEY (device_id) REFERENCES devices (id)
);

-- the business's own customers (data subjects of the business, processed by Plus)
CREATE TABLE crm_contacts (
  id INTEGER NOT NULL PRIMARY KEY,
  account_id INTEGER NOT NULL,
  first_name VARCHAR(80),
  last_name VARCHAR(80),
  email VARCHAR(255),
  phone VARCHAR(40),
  street VARCHAR(200),
  city VARCHAR(80),
  zip VARCHAR(20),
  country VARCHAR(2),
  created_at TIMESTAMP NULL,
  FOREIGN KEY (account_id) REFERENCES accounts (id)
);

CREATE TABLE chat_messages (
  id INTEGER NOT NULL PRIMARY KEY,
  account_id INTEGER NOT NULL,
  contact_id INTEGER,
  direction VARCHAR(3) NOT NULL,
  body TEXT,
  sent_at TIMESTAMP NULL,
  FOREIGN KEY (account_id) REFERENCES accounts (id),
  FOREIGN KEY (contact_id) REFERENCES crm_contacts (id)
);

CREATE TABLE ad_campaigns (
  id INTEGER NOT NULL PRIMARY KEY,
  account_id INTEGER NOT NULL,
  name VARCHAR(120) NOT NULL,
  budget DECIMAL(10, 2),
  created_at TIMESTAMP NULL,
  FOREIGN KEY (account_id) REFERENCES accounts (id)
);

CREATE TABLE ad_interactions (
  id INTEGER NOT NULL PRIMARY KEY,
  campaign_id INTEGER NOT NULL,
  contact_id INTEGER,
  kind VARCHAR(20) NOT NULL,
  ip_address VARCHAR(45),
  occurred_at TIMESTAMP NULL,
  FOREIGN KEY (campaign_id) REFERENCES ad_campaigns (id),
  FOREIGN KEY (contact_id) REFERENCES crm_contacts (id)
);
