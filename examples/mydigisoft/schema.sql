-- MyDigiSoft demo schema (fictional): software shop, licences, support desk, notification desk,
-- trade compliance. Portable DDL: runs unchanged on SQLite, PostgreSQL and MariaDB/MySQL.

CREATE TABLE countries (
  code VARCHAR(2) NOT NULL PRIMARY KEY,
  name VARCHAR(80) NOT NULL,
  embargoed SMALLINT NOT NULL
);

CREATE TABLE customers (
  id INTEGER NOT NULL PRIMARY KEY,
  first_name VARCHAR(80),
  last_name VARCHAR(80),
  email VARCHAR(255) NOT NULL,
  phone VARCHAR(40),
  country VARCHAR(2),
  created_at TIMESTAMP NULL,
  last_login TIMESTAMP NULL,
  FOREIGN KEY (country) REFERENCES countries (code)
);

CREATE TABLE orders (
  id INTEGER NOT NULL PRIMARY KEY,
  customer_id INTEGER NOT NULL,
  status VARCHAR(20) NOT NULL,
  total DECIMAL(10, 2) NOT NULL,
  currency VARCHAR(3) NOT NULL,
  created_at TIMESTAMP NULL,
  FOREIGN KEY (customer_id) REFERENCES customers (id)
);

CREATE TABLE order_items (
  id INTEGER NOT NULL PRIMARY KEY,
  order_id INTEGER NOT NULL,
  product_sku VARCHAR(40) NOT NULL,
  quantity INTEGER NOT NULL,
  unit_price DECIMAL(10, 2) NOT NULL,
  FOREIGN KEY (order_id) REFERENCES orders (id)
);

CREATE TABLE licences (
  id INTEGER NOT NULL PRIMARY KEY,
  order_item_id INTEGER NOT NULL,
  customer_id INTEGER NOT NULL,
  licence_key VARCHAR(64) NOT NULL,
  issued_at TIMESTAMP NULL,
  FOREIGN KEY (order_item_id) REFERENCES order_items (id),
  FOREIGN KEY (customer_id) REFERENCES customers (id)
);

-- requester_email is not a foreign key: tickets from people who never bought are kept too
CREATE TABLE support_tickets (
  id INTEGER NOT NULL PRIMARY KEY,
  customer_id INTEGER,
  requester_email VARCHAR(255) NOT NULL,
  subject VARCHAR(200) NOT NULL,
  body TEXT,
  created_at TIMESTAMP NULL,
  FOREIGN KEY (customer_id) REFERENCES customers (id)
);

CREATE TABLE marketing_preferences (
  customer_id INTEGER NOT NULL PRIMARY KEY,
  email_opt_in SMALLINT NOT NULL,
  channel VARCHAR(40) NOT NULL,
  updated_at TIMESTAMP NULL,
  FOREIGN KEY (customer_id) REFERENCES customers (id)
);

CREATE TABLE trade_compliance_checks (
  id INTEGER NOT NULL PRIMARY KEY,
  customer_id INTEGER NOT NULL,
  country VARCHAR(2) NOT NULL,
  ip_address VARCHAR(45),
  result VARCHAR(20) NOT NULL,
  checked_at TIMESTAMP NULL,
  FOREIGN KEY (customer_id) REFERENCES customers (id),
  FOREIGN KEY (country) REFERENCES countries (code)
);
