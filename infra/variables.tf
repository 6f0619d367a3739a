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
  description = "Location of the BigQuery datasets (multi-region or region)."
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
  description = "Secret Manager secret id holding the HMAC key that pseudonymises PII (created outside Terraform so the key never sits in state)."
  type        = string
  default     = "mlops-pii-hmac-key"
}

variable "dataform_git_url" {
  description = "HTTPS URL of the git repository holding this project (Dataform reads dataform/ from it)."
  type        = string
}

variable "dataform_git_token_secret_version" {
  description = "Secret Manager secret version with a token Dataform uses to read the git repository."
  type        = string
}

variable "dataform_git_branch" {
  description = "Branch Dataform compiles."
  type        = string
  default     = "main"
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
  description = "Deliveries before Pub/Sub dead-letters a message."
  type        = number
  default     = 5
}
