# Every service is the same image with a different entrypoint, answering Eventarc over HTTP. No
# request waits for Dataform or Vertex AI: their completion comes back as an event.

resource "google_cloud_run_v2_service" "service" {
  for_each            = local.services
  name                = each.key
  location            = var.region
  deletion_protection = false
  # Only the dashboard is reached from outside (by its viewers); the rest only by Eventarc.
  ingress = each.key == "dashboard" ? "INGRESS_TRAFFIC_ALL" : "INGRESS_TRAFFIC_INTERNAL_ONLY"
  template {
    service_account                  = google_service_account.service[each.key].email
    timeout                          = "600s"
    max_instance_request_concurrency = each.key == "dashboard" ? 80 : 1
    # The transformer and the trainer handle one run at a time.
    scaling { max_instance_count = contains(["transformer", "trainer"], each.key) ? 1 : 10 }
    containers {
      image   = var.image
      command = local.commands[each.key]
      resources {
        limits = {
          cpu    = each.key == "dashboard" ? "2" : "1"
          memory = contains(["dashboard", "lander", "sales-gen"], each.key) ? "2Gi" : "1Gi"
        }
      }
      dynamic "env" {
        for_each = merge(local.common_env, lookup(local.service_env, each.key, {}))
        content {
          name  = env.key
          value = env.value
        }
      }
      dynamic "env" {
        for_each = each.key == "sales-gen" ? [var.pii_hmac_key_secret] : []
        content {
          name = "MLOPS_PII_HMAC_KEY"
          value_source {
            secret_key_ref {
              secret  = env.value
              version = "latest"
            }
          }
        }
      }
    }
  }
  depends_on = [google_project_service.apis, google_secret_manager_secret_iam_member.sales_gen_pii_key]
}

# Eventarc's identity invokes every service it delivers to.
resource "google_cloud_run_v2_service_iam_member" "eventarc_invokes" {
  for_each = local.services
  name     = google_cloud_run_v2_service.service[each.key].name
  location = var.region
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.eventarc.email}"
}

# People open the dashboard through `gcloud run services proxy dashboard`, which signs in as them.
resource "google_cloud_run_v2_service_iam_member" "dashboard_viewers" {
  name     = google_cloud_run_v2_service.service["dashboard"].name
  location = var.region
  role     = "roles/run.invoker"
  member   = "group:${var.dashboard_viewers_group}"
}

# The scheduler: Cloud Scheduler starts a Cloud Run job that publishes yesterday's pipeline.started.
resource "google_cloud_run_v2_job" "scheduler" {
  name                = "mlops-scheduler"
  location            = var.region
  deletion_protection = false
  template {
    template {
      service_account = google_service_account.scheduler.email
      max_retries     = 3
      containers {
        image   = var.image
        command = local.commands["scheduler"]
        dynamic "env" {
          for_each = local.common_env
          content {
            name  = env.key
            value = env.value
          }
        }
      }
    }
  }
  depends_on = [google_project_service.apis]
}

# The scheduler may run its own job, and nothing else in Cloud Run.
resource "google_cloud_run_v2_job_iam_member" "scheduler_runs_job" {
  name     = google_cloud_run_v2_job.scheduler.name
  location = var.region
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.scheduler.email}"
}

resource "google_cloud_scheduler_job" "daily" {
  name      = "mlops-daily-run"
  region    = var.region
  schedule  = var.schedule
  time_zone = "Etc/UTC"
  http_target {
    http_method = "POST"
    uri         = "https://run.googleapis.com/v2/${google_cloud_run_v2_job.scheduler.id}:run"
    oauth_token { service_account_email = google_service_account.scheduler.email }
  }
  depends_on = [google_cloud_run_v2_job_iam_member.scheduler_runs_job]
}

# Cloud Dataform compiles the root of dataform_git_branch, which `npm run dataform:publish` writes
# from dataform/ (the project cannot live in a subfolder of the repository Dataform reads).
resource "google_dataform_repository" "mlops" {
  provider = google-beta
  name     = "mlops"
  region   = var.region
  git_remote_settings {
    url                                 = var.dataform_git_url
    default_branch                      = var.dataform_git_branch
    authentication_token_secret_version = "projects/${var.project_id}/secrets/${var.dataform_git_token_secret}/versions/latest"
  }
  workspace_compilation_overrides {
    default_database = var.project_id
  }
  service_account = google_service_account.dataform.email
  depends_on = [
    google_service_account_iam_member.dataform_agent_token_creator,
    google_secret_manager_secret_iam_member.dataform_agent_git_token,
  ]
}
