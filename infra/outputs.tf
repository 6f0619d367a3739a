output "lake" {
  description = "The lake bucket URI (MLOPS_LAKE)."
  value       = "gs://${google_storage_bucket.lake.name}"
}

output "dataform_repository" {
  description = "Dataform repository resource name (DATAFORM_REPOSITORY)."
  value       = google_dataform_repository.mlops.id
}

output "services" {
  description = "Cloud Run service URLs (all but the dashboard accept only Eventarc)."
  value       = { for name, service in google_cloud_run_v2_service.service : name => service.uri }
}

output "service_accounts" {
  description = "The account of every service and identity."
  value       = local.accounts
}
