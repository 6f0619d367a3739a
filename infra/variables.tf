variable "project_id" {
  description = "Google Cloud project that hosts the platform."
  type        = string
}

variable "region" {
  description = "Region of Cloud Run, Eventarc, Dataform and Vertex AI."
  type        = string
  default     = "europe-west1"
}

variable "bigquery_location" {
  description = "Location of the BigQuery datasets and the lake bucket (multi-region or region)."
  type        = string
  default     = "EU"
}

variable "image" {
  description = "Container image built from the repository's Dockerfile, e.g. europe-west1-docker.pkg.dev/PROJECT/mlops/platform:TAG."
  type        = string
}

variable "lake_bucket" {
  description = "Name of the GCS bucket of the lake (bronze/, mlops/)."
  type        = string
}

variable "pii_hmac_key_secret" {
  description = "Secret Manager secret id holding the HMAC key that pseudonymises PII (created outside Terraform so the key never sits in state). Only sales-gen may read it."
  type        = string
  default     = "mlops-pii-hmac-key"
}

variable "dataform_git_url" {
  description = "HTTPS URL of the git repository Cloud Dataform reads (this repository: the Dataform project is published to its own branch, see dataform_git_branch)."
  type        = string
}

variable "dataform_git_token_secret" {
  description = "Secret Manager secret id holding a token with read access to dataform_git_url. Only the Dataform service agent may read it."
  type        = string
  default     = "dataform-git-token"
}

variable "dataform_git_branch" {
  description = "Branch Cloud Dataform compiles: the one `npm run dataform:publish` writes, whose root is the Dataform project."
  type        = string
  default     = "dataform"
}

variable "dashboard_viewers_group" {
  description = "Google group (e-mail) whose members may open the dashboard (Cloud Run invoker on the dashboard only)."
  type        = string
}

variable "operators_group" {
  description = "Google group (e-mail) of the operators: may start runs and backfills, list and redrive dead letters. Empty: nobody beyond the project's owners."
  type        = string
  default     = ""
}

variable "alert_emails" {
  description = "E-mail addresses notified by the alert policies."
  type        = list(string)
  default     = []
}

variable "warehouse_ready_deadline_hours" {
  description = "Alert when no warehouse.ready was published for this many hours (one daily run plus slack)."
  type        = number
  default     = 30
}

variable "scale" {
  description = "Generator volume multiplier."
  type        = number
  default     = 1
}

variable "schedule" {
  description = "Cron schedule (UTC) of the daily run; the run is for the previous day."
  type        = string
  default     = "0 2 * * *"
}

variable "max_delivery_attempts" {
  description = "Deliveries before Pub/Sub dead-letters a message (5..100)."
  type        = number
  default     = 5
}
