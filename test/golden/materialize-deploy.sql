-- blue/green deploy <fingerprint>: 29 objects built in public__deploy, public_etl_failure__deploy, then 2 schemas swapped

-- what is in the production and staging schemas: anything not made by the models stops the deploy, changing nothing
select s.name as schema, o.name as name from mz_catalog.mz_objects o join mz_catalog.mz_schemas s on o.schema_id = s.id join mz_catalog.mz_databases d on s.database_id = d.id where d.name = current_database() and s.name = any($1);

-- an earlier deploy's leftovers
DROP SCHEMA IF EXISTS "public__deploy" CASCADE;
DROP SCHEMA IF EXISTS "public_etl_failure__deploy" CASCADE;

-- the build
CREATE SCHEMA IF NOT EXISTS "public";
CREATE SCHEMA "public__deploy";
COMMENT ON SCHEMA "public__deploy" IS 'jaffle-shop-streaming dev deploy <fingerprint>';
CREATE SCHEMA IF NOT EXISTS "public_etl_failure";
CREATE SCHEMA "public_etl_failure__deploy";
COMMENT ON SCHEMA "public_etl_failure__deploy" IS 'jaffle-shop-streaming dev deploy <fingerprint>';
SET search_path TO "ingest", "public__deploy";
CREATE VIEW "public__deploy"."stg_customers" AS
<query of sql/models/stg_customers.sql>;
CREATE VIEW "public__deploy"."stg_orders" AS
<query of sql/models/stg_orders.sql>;
CREATE VIEW "public__deploy"."stg_payments" AS
<query of sql/models/stg_payments.sql>;
CREATE MATERIALIZED VIEW "public__deploy"."customers" IN CLUSTER "quickstart" AS
<query of sql/models/customers.sql>;
CREATE MATERIALIZED VIEW "public__deploy"."orders" IN CLUSTER "quickstart" AS
<query of sql/models/orders.sql>;
CREATE MATERIALIZED VIEW "public_etl_failure__deploy"."unique_stg_customers_customer_id" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (unique test on stg_customers.customer_id)>;
CREATE MATERIALIZED VIEW "public_etl_failure__deploy"."not_null_stg_customers_customer_id" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (not_null test on stg_customers.customer_id)>;
CREATE MATERIALIZED VIEW "public_etl_failure__deploy"."unique_stg_orders_order_id" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (unique test on stg_orders.order_id)>;
CREATE MATERIALIZED VIEW "public_etl_failure__deploy"."not_null_stg_orders_order_id" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (not_null test on stg_orders.order_id)>;
CREATE MATERIALIZED VIEW "public_etl_failure__deploy"."accepted_values_stg_orders_4f514bf94b77b7ea437830eec4421c58" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (accepted_values test on stg_orders.status)>;
CREATE MATERIALIZED VIEW "public_etl_failure__deploy"."unique_stg_payments_payment_id" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (unique test on stg_payments.payment_id)>;
CREATE MATERIALIZED VIEW "public_etl_failure__deploy"."not_null_stg_payments_payment_id" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (not_null test on stg_payments.payment_id)>;
CREATE MATERIALIZED VIEW "public_etl_failure__deploy"."relationships_stg_payments_order_id__order_id__ref_stg_orders_" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (relationships test on stg_payments.order_id)>;
CREATE MATERIALIZED VIEW "public_etl_failure__deploy"."accepted_values_stg_payments_c7909fb19b1f0177c2bf99c7912f06ef" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (accepted_values test on stg_payments.payment_method)>;
CREATE MATERIALIZED VIEW "public_etl_failure__deploy"."not_null_stg_payments_amount" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (not_null test on stg_payments.amount)>;
CREATE MATERIALIZED VIEW "public_etl_failure__deploy"."unique_customers_customer_id" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (unique test on customers.customer_id)>;
CREATE MATERIALIZED VIEW "public_etl_failure__deploy"."not_null_customers_customer_id" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (not_null test on customers.customer_id)>;
CREATE MATERIALIZED VIEW "public_etl_failure__deploy"."unique_orders_order_id" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (unique test on orders.order_id)>;
CREATE MATERIALIZED VIEW "public_etl_failure__deploy"."not_null_orders_order_id" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (not_null test on orders.order_id)>;
CREATE MATERIALIZED VIEW "public_etl_failure__deploy"."not_null_orders_customer_id" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (not_null test on orders.customer_id)>;
CREATE MATERIALIZED VIEW "public_etl_failure__deploy"."relationships_orders_customer_id__customer_id__ref_customers_" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (relationships test on orders.customer_id)>;
CREATE MATERIALIZED VIEW "public_etl_failure__deploy"."accepted_values_orders_1ce6ab157c285f7cd2ac656013faf758" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (accepted_values test on orders.status)>;
CREATE MATERIALIZED VIEW "public_etl_failure__deploy"."not_null_orders_amount" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (not_null test on orders.amount)>;
CREATE MATERIALIZED VIEW "public_etl_failure__deploy"."not_null_orders_credit_card_amount" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (not_null test on orders.credit_card_amount)>;
CREATE MATERIALIZED VIEW "public_etl_failure__deploy"."not_null_orders_coupon_amount" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (not_null test on orders.coupon_amount)>;
CREATE MATERIALIZED VIEW "public_etl_failure__deploy"."not_null_orders_bank_transfer_amount" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (not_null test on orders.bank_transfer_amount)>;
CREATE MATERIALIZED VIEW "public_etl_failure__deploy"."not_null_orders_gift_card_amount" IN CLUSTER "quickstart" AS
<query of sql/schema.yml (not_null test on orders.gift_card_amount)>;
CREATE INDEX "customers_customer_id_idx" IN CLUSTER "quickstart" ON "public__deploy"."customers" ("customer_id");
CREATE INDEX "orders_order_id_idx" IN CLUSTER "quickstart" ON "public__deploy"."orders" ("order_id");

-- polled until nothing is pending, or deployTimeoutSeconds
with replicas as (select r.id from mz_catalog.mz_cluster_replicas r join mz_catalog.mz_clusters c on r.cluster_id = c.id where c.name = $1), oom as (select replica_id from mz_internal.mz_cluster_replica_status_history where reason = 'oom-killed' and occurred_at + interval '24 hours' > mz_now() group by replica_id having count(*) >= 3) select 'cluster ' || $1 || ' has no replica' as problem where not exists (select 1 from replicas) union all select 'every replica of cluster ' || $1 || ' was killed for memory 3 times in the last day' where exists (select 1 from replicas) and not exists (select 1 from replicas where id not in (select replica_id from oom));
select o.name as name, case when h.hydrated is not true then 'hydrating' else 'lagging ' || coalesce(l.lag::text, '(unknown)') end as why from mz_catalog.mz_objects o join mz_catalog.mz_schemas s on o.schema_id = s.id join mz_catalog.mz_databases d on s.database_id = d.id left join mz_internal.mz_hydration_statuses h on h.object_id = o.id left join mz_internal.mz_wallclock_global_lag l on l.object_id = o.id where d.name = current_database() and s.name = any($1) and o.type in ('materialized-view', 'index') and (h.hydrated is not true or l.lag is null or extract(epoch from l.lag) > $2::float8);

-- the swap
BEGIN;
ALTER SCHEMA "public" SWAP WITH "public__deploy";
ALTER SCHEMA "public_etl_failure" SWAP WITH "public_etl_failure__deploy";
COMMIT;

-- what was swapped out (on a failure before the swap: ROLLBACK, then the same)
DROP SCHEMA IF EXISTS "public__deploy" CASCADE;
DROP SCHEMA IF EXISTS "public_etl_failure__deploy" CASCADE;

-- destroy
DROP SCHEMA IF EXISTS "public__deploy" CASCADE;
DROP SCHEMA IF EXISTS "public_etl_failure__deploy" CASCADE;
DROP INDEX IF EXISTS "public"."orders_order_id_idx";
DROP INDEX IF EXISTS "public"."customers_customer_id_idx";
DROP MATERIALIZED VIEW IF EXISTS "public_etl_failure"."not_null_orders_gift_card_amount";
DROP MATERIALIZED VIEW IF EXISTS "public_etl_failure"."not_null_orders_bank_transfer_amount";
DROP MATERIALIZED VIEW IF EXISTS "public_etl_failure"."not_null_orders_coupon_amount";
DROP MATERIALIZED VIEW IF EXISTS "public_etl_failure"."not_null_orders_credit_card_amount";
DROP MATERIALIZED VIEW IF EXISTS "public_etl_failure"."not_null_orders_amount";
DROP MATERIALIZED VIEW IF EXISTS "public_etl_failure"."accepted_values_orders_1ce6ab157c285f7cd2ac656013faf758";
DROP MATERIALIZED VIEW IF EXISTS "public_etl_failure"."relationships_orders_customer_id__customer_id__ref_customers_";
DROP MATERIALIZED VIEW IF EXISTS "public_etl_failure"."not_null_orders_customer_id";
DROP MATERIALIZED VIEW IF EXISTS "public_etl_failure"."not_null_orders_order_id";
DROP MATERIALIZED VIEW IF EXISTS "public_etl_failure"."unique_orders_order_id";
DROP MATERIALIZED VIEW IF EXISTS "public_etl_failure"."not_null_customers_customer_id";
DROP MATERIALIZED VIEW IF EXISTS "public_etl_failure"."unique_customers_customer_id";
DROP MATERIALIZED VIEW IF EXISTS "public_etl_failure"."not_null_stg_payments_amount";
DROP MATERIALIZED VIEW IF EXISTS "public_etl_failure"."accepted_values_stg_payments_c7909fb19b1f0177c2bf99c7912f06ef";
DROP MATERIALIZED VIEW IF EXISTS "public_etl_failure"."relationships_stg_payments_order_id__order_id__ref_stg_orders_";
DROP MATERIALIZED VIEW IF EXISTS "public_etl_failure"."not_null_stg_payments_payment_id";
DROP MATERIALIZED VIEW IF EXISTS "public_etl_failure"."unique_stg_payments_payment_id";
DROP MATERIALIZED VIEW IF EXISTS "public_etl_failure"."accepted_values_stg_orders_4f514bf94b77b7ea437830eec4421c58";
DROP MATERIALIZED VIEW IF EXISTS "public_etl_failure"."not_null_stg_orders_order_id";
DROP MATERIALIZED VIEW IF EXISTS "public_etl_failure"."unique_stg_orders_order_id";
DROP MATERIALIZED VIEW IF EXISTS "public_etl_failure"."not_null_stg_customers_customer_id";
DROP MATERIALIZED VIEW IF EXISTS "public_etl_failure"."unique_stg_customers_customer_id";
DROP MATERIALIZED VIEW IF EXISTS "public"."orders";
DROP MATERIALIZED VIEW IF EXISTS "public"."customers";
DROP VIEW IF EXISTS "public"."stg_payments";
DROP VIEW IF EXISTS "public"."stg_orders";
DROP VIEW IF EXISTS "public"."stg_customers";
DROP SCHEMA IF EXISTS "public_etl_failure";
