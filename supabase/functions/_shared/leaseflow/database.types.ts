// The public schema as supabase-js types it: `supabase gen types typescript` of a freshly reset
// database, written by `npm run schema`; do not edit it by hand. `npm test` fails when it
// differs from what the migrations create.

export type Json = string | number | boolean | null | { [key: string]: Json | undefined } | Json[]

export type Database = {
  
  "public": {
          Tables: {
            "claim_floor": {
                  Row: {
                    "id": boolean,"queue_at": string,"queue_rank": number,"raised_at": string
                  }
                  ComputedFields: never
                  Insert: {
                    "id"?: boolean,"queue_at": string,"queue_rank": number,"raised_at": string
                  }
                  Update: {
                    "id"?: boolean,"queue_at"?: string,"queue_rank"?: number,"raised_at"?: string
                  }
                  Relationships: [
                    
                  ]
                },"job_steps": {
                  Row: {
                    "attempt": number,"completed_by": string | null,"created_at": string,"error": Json | null,"finished_at": string | null,"id": string,"input": Json | null,"job_id": string,"lease_expires_at": string | null,"locked_by": string | null,"max_attempts": number,"name": string | null,"output": Json | null,"priority": number,"queue_at": string | null,"queue_rank": number,"run_at": string,"seq": number,"started_at": string | null,"status": string,"step_order": number,"tenant_id": string | null,"updated_at": string
                  }
                  ComputedFields: never
                  Insert: {
                    "attempt"?: number,"completed_by"?: string | null,"created_at"?: string,"error"?: Json | null,"finished_at"?: string | null,"id"?: string,"input"?: Json | null,"job_id": string,"lease_expires_at"?: string | null,"locked_by"?: string | null,"max_attempts"?: number,"name"?: string | null,"output"?: Json | null,"priority"?: number,"queue_at"?: string | null,"queue_rank"?: number,"run_at"?: string,"seq": number,"started_at"?: string | null,"status"?: string,"step_order"?: number,"tenant_id"?: string | null,"updated_at"?: string
                  }
                  Update: {
                    "attempt"?: number,"completed_by"?: string | null,"created_at"?: string,"error"?: Json | null,"finished_at"?: string | null,"id"?: string,"input"?: Json | null,"job_id"?: string,"lease_expires_at"?: string | null,"locked_by"?: string | null,"max_attempts"?: number,"name"?: string | null,"output"?: Json | null,"priority"?: number,"queue_at"?: string | null,"queue_rank"?: number,"run_at"?: string,"seq"?: number,"started_at"?: string | null,"status"?: string,"step_order"?: number,"tenant_id"?: string | null,"updated_at"?: string
                  }
                  Relationships: [
                    
                  ]
                },"job_types": {
                  Row: {
                    "backoff_base": string,"backoff_jitter": number,"backoff_max": string,"created_at": string,"group_concurrency": number,"group_rate_interval": string | null,"group_rate_limit": number | null,"max_attempts": number,"priority": number,"step_timeout": string,"steps": NonNullable<Json>,"type": string,"updated_at": string
                  }
                  ComputedFields: never
                  Insert: {
                    "backoff_base"?: string,"backoff_jitter"?: number,"backoff_max"?: string,"created_at"?: string,"group_concurrency"?: number,"group_rate_interval"?: string | null,"group_rate_limit"?: number | null,"max_attempts"?: number,"priority"?: number,"step_timeout"?: string,"steps": NonNullable<Json>,"type": string,"updated_at"?: string
                  }
                  Update: {
                    "backoff_base"?: string,"backoff_jitter"?: number,"backoff_max"?: string,"created_at"?: string,"group_concurrency"?: number,"group_rate_interval"?: string | null,"group_rate_limit"?: number | null,"max_attempts"?: number,"priority"?: number,"step_timeout"?: string,"steps"?: NonNullable<Json>,"type"?: string,"updated_at"?: string
                  }
                  Relationships: [
                    
                  ]
                },"jobs": {
                  Row: {
                    "attempt": number,"completed_by": string | null,"created_at": string,"dedupe_key": string | null,"enqueue_order": number,"error": Json | null,"finished_at": string | null,"group_key": string | null,"id": string,"lease_expires_at": string | null,"locked_by": string | null,"max_attempts": number | null,"own_step_id": string | null,"payload": NonNullable<Json>,"priority": number,"queue_at": string | null,"queue_rank": number,"result": Json | null,"run_at": string,"started_at": string | null,"status": string,"step_count": number | null,"step_error": Json | null,"step_name": string | null,"step_seq": number,"step_started_at": string | null,"tenant_id": string | null,"type": string | null,"updated_at": string,"job_json": Json | null,"job_summary_json": Json | null
                  }
                  ComputedFields: "job_json" | "job_summary_json"
                  Insert: {
                    "attempt"?: number,"completed_by"?: string | null,"created_at"?: string,"dedupe_key"?: string | null,"enqueue_order"?: number,"error"?: Json | null,"finished_at"?: string | null,"group_key"?: string | null,"id"?: string,"lease_expires_at"?: string | null,"locked_by"?: string | null,"max_attempts"?: number | null,"own_step_id"?: string | null,"payload"?: NonNullable<Json>,"priority"?: number,"queue_at"?: string | null,"queue_rank"?: number,"result"?: Json | null,"run_at"?: string,"started_at"?: string | null,"status"?: string,"step_count"?: number | null,"step_error"?: Json | null,"step_name"?: string | null,"step_seq"?: number,"step_started_at"?: string | null,"tenant_id"?: string | null,"type"?: string | null,"updated_at"?: string
                  }
                  Update: {
                    "attempt"?: number,"completed_by"?: string | null,"created_at"?: string,"dedupe_key"?: string | null,"enqueue_order"?: number,"error"?: Json | null,"finished_at"?: string | null,"group_key"?: string | null,"id"?: string,"lease_expires_at"?: string | null,"locked_by"?: string | null,"max_attempts"?: number | null,"own_step_id"?: string | null,"payload"?: NonNullable<Json>,"priority"?: number,"queue_at"?: string | null,"queue_rank"?: number,"result"?: Json | null,"run_at"?: string,"started_at"?: string | null,"status"?: string,"step_count"?: number | null,"step_error"?: Json | null,"step_name"?: string | null,"step_seq"?: number,"step_started_at"?: string | null,"tenant_id"?: string | null,"type"?: string | null,"updated_at"?: string
                  }
                  Relationships: [
                    
                  ]
                },"leaseflow_settings": {
                  Row: {
                    "fair_claiming": boolean,"id": boolean,"kick_debounce": string,"last_kick_at": string | null,"live_worker_window": string,"max_invocations": number,"prune_batch_size": number,"retention": string,"tenant_enqueue_burst": number,"tenant_enqueue_rate": number | null,"wakeup_grace": string,"worker_batch_size": number
                  }
                  ComputedFields: never
                  Insert: {
                    "fair_claiming"?: boolean,"id"?: boolean,"kick_debounce"?: string,"last_kick_at"?: string | null,"live_worker_window"?: string,"max_invocations"?: number,"prune_batch_size"?: number,"retention"?: string,"tenant_enqueue_burst"?: number,"tenant_enqueue_rate"?: number | null,"wakeup_grace"?: string,"worker_batch_size"?: number
                  }
                  Update: {
                    "fair_claiming"?: boolean,"id"?: boolean,"kick_debounce"?: string,"last_kick_at"?: string | null,"live_worker_window"?: string,"max_invocations"?: number,"prune_batch_size"?: number,"retention"?: string,"tenant_enqueue_burst"?: number,"tenant_enqueue_rate"?: number | null,"wakeup_grace"?: string,"worker_batch_size"?: number
                  }
                  Relationships: [
                    
                  ]
                },"step_attempts": {
                  Row: {
                    "attempt": number,"error": Json | null,"finished_at": string,"id": number,"job_id": string,"outcome": string,"started_at": string | null,"step_id": string,"worker_id": string
                  }
                  ComputedFields: never
                  Insert: {
                    "attempt": number,"error"?: Json | null,"finished_at"?: string,"id"?: never,"job_id": string,"outcome": string,"started_at"?: string | null,"step_id": string,"worker_id": string
                  }
                  Update: {
                    "attempt"?: number,"error"?: Json | null,"finished_at"?: string,"id"?: never,"job_id"?: string,"outcome"?: string,"started_at"?: string | null,"step_id"?: string,"worker_id"?: string
                  }
                  Relationships: [
                    
                  ]
                },"tenant_enqueue_buckets": {
                  Row: {
                    "refilled_at": string,"tenant_id": string,"tokens": number
                  }
                  ComputedFields: never
                  Insert: {
                    "refilled_at"?: string,"tenant_id": string,"tokens": number
                  }
                  Update: {
                    "refilled_at"?: string,"tenant_id"?: string,"tokens"?: number
                  }
                  Relationships: [
                    
                  ]
                },"worker_wakeups": {
                  Row: {
                    "id": number,"reason": string,"request_id": number | null,"sent_at": string
                  }
                  ComputedFields: never
                  Insert: {
                    "id"?: never,"reason": string,"request_id"?: number | null,"sent_at"?: string
                  }
                  Update: {
                    "id"?: never,"reason"?: string,"request_id"?: number | null,"sent_at"?: string
                  }
                  Relationships: [
                    
                  ]
                },"workers": {
                  Row: {
                    "id": string,"kind": string,"last_heartbeat_at": string,"metadata": NonNullable<Json>,"started_at": string,"stopped_at": string | null
                  }
                  ComputedFields: never
                  Insert: {
                    "id": string,"kind": string,"last_heartbeat_at"?: string,"metadata"?: NonNullable<Json>,"started_at"?: string,"stopped_at"?: string | null
                  }
                  Update: {
                    "id"?: string,"kind"?: string,"last_heartbeat_at"?: string,"metadata"?: NonNullable<Json>,"started_at"?: string,"stopped_at"?: string | null
                  }
                  Relationships: [
                    
                  ]
                }
          }
          Views: {
            "all_steps": {
                  Row: {
                    "attempt": number | null,"completed_by": string | null,"created_at": string | null,"error": Json | null,"finished_at": string | null,"id": string | null,"input": Json | null,"job_id": string | null,"lease_expires_at": string | null,"locked_by": string | null,"max_attempts": number | null,"name": string | null,"output": Json | null,"priority": number | null,"queue_at": string | null,"queue_rank": number | null,"run_at": string | null,"seq": number | null,"started_at": string | null,"status": string | null,"step_order": number | null,"tenant_id": string | null,"updated_at": string | null
                  }
                  ComputedFields: never
                  Relationships: [
                    
                  ]
                },"dead_letter": {
                  Row: {
                    "attempts": number | null,"created_at": string,"error": Json | null,"failed_at": string | null,"group_key": string | null,"job_id": string,"last_error": string | null,"payload": NonNullable<Json>,"tenant_id": string | null,"type": string | null
                  }
                  ComputedFields: never
                  Insert: {
                           "attempts"?: never,"created_at"?: string | null,"error"?: Json | null,"failed_at"?: string | null,"group_key"?: string | null,"job_id"?: string | null,"last_error"?: never,"payload"?: Json | null,"tenant_id"?: string | null,"type"?: string | null
                         }
                        Update: {
                           "attempts"?: never,"created_at"?: string | null,"error"?: Json | null,"failed_at"?: string | null,"group_key"?: string | null,"job_id"?: string | null,"last_error"?: never,"payload"?: Json | null,"tenant_id"?: string | null,"type"?: string | null
                         }
                        Relationships: [
                    
                  ]
                },"job_timeline": {
                  Row: {
                    "attempt": number | null,"error": Json | null,"finished_at": string | null,"job_id": string | null,"outcome": string | null,"seq": number | null,"started_at": string | null,"step_id": string | null,"step_name": string | null,"worker_id": string | null
                  }
                  ComputedFields: never
                  Relationships: [
                    
                  ]
                },"queue_stats": {
                  Row: {
                    "avg_processing_ms_60m": number | null,"avg_wait_ms_60m": number | null,"cancelled": number | null,"completed": number | null,"failed": number | null,"lease_expiries_60m": number | null,"oldest_pending_age": string | null,"pending": number | null,"retries_60m": number | null,"running": number | null,"success_rate_60m": number | null,"throughput_per_min_1m": number | null,"throughput_per_min_5m": number | null,"throughput_per_min_60m": number | null,"type": string | null,"unclaimable_steps": number | null
                  }
                  ComputedFields: never
                  Relationships: [
                    
                  ]
                }
          }
          Functions: {
            "_advance_due_lanes":
{ Args: Record<PropertyKey, never>; Returns: number
                           },
"_advance_lane":
{ Args: { "p_group_key": string,"p_tenant_id": string }; Returns: number
                           },
"_caller_role":
{ Args: Record<PropertyKey, never>; Returns: string
                           },
"_caller_tenant":
{ Args: { "p_function": string }; Returns: string
                           },
"_cancel_unfinished_steps":
{ Args: { "p_job_id": string,"p_reason": Json }; Returns: undefined
                           },
"_claim_queue_types":
{ Args: { "p_types": (string)[] }; Returns: (string)[]
                           },
"_complete_own_steps":
{ Args: { "p_claim_lease": string,"p_ids": (string)[],"p_keyed": boolean,"p_outputs": Json,"p_rows": boolean,"p_worker_id": string }; Returns: {
              "job_id": string,"step": Database["public"]['Tables']["job_steps"]['Row'],"step_id": string
            }[]
                           },
"_complete_steps":
{ Args: { "p_claim_lease": string,"p_outputs": Json,"p_rows": boolean,"p_step_ids": (string)[],"p_worker_id": string }; Returns: {
              "job_id": string,"step": Database["public"]['Tables']["job_steps"]['Row'],"step_id": string
            }[]
                           },
"_create_next_steps":
{ Args: { "p_job_ids": (string)[] }; Returns: number
                           },
"_edge_worker_types":
{ Args: Record<PropertyKey, never>; Returns: (string)[]
                           },
"_enqueue":
{ Args: { "p_batch": boolean,"p_function": string,"p_options": Json,"p_payloads": Json,"p_type": string }; Returns: (string)[]
                           },
"_enqueue_keys":
{ Args: { "p_count": number,"p_function": string,"p_kind": string,"p_options": Json }; Returns: (string)[]
                           },
"_expire_leases":
{ Args: Record<PropertyKey, never>; Returns: Record<string, unknown>
                           },
"_fail_job":
{ Args: { "p_error": Json,"p_job_id": string }; Returns: undefined
                           },
"_fail_own_step":
{ Args: { "p_error": Json,"p_permanent": boolean,"p_retry_in": string,"p_step_id": string,"p_worker_id": string }; Returns: {
              "attempt": number,
"completed_by": string | null,
"created_at": string,
"error": Json | null,
"finished_at": string | null,
"id": string,
"input": Json | null,
"job_id": string,
"lease_expires_at": string | null,
"locked_by": string | null,
"max_attempts": number,
"name": string | null,
"output": Json | null,
"priority": number,
"queue_at": string | null,
"queue_rank": number,
"run_at": string,
"seq": number,
"started_at": string | null,
"status": string,
"step_order": number,
"tenant_id": string | null,
"updated_at": string
            }
                          SetofOptions: {
        from: "*"
        to: "job_steps"
        isOneToOne: true
        isSetofReturn: false
      } },
"_fail_step":
{ Args: { "p_error": Json,"p_permanent": boolean,"p_retry_in": string,"p_step_id": string,"p_worker_id": string }; Returns: {
              "attempt": number,
"completed_by": string | null,
"created_at": string,
"error": Json | null,
"finished_at": string | null,
"id": string,
"input": Json | null,
"job_id": string,
"lease_expires_at": string | null,
"locked_by": string | null,
"max_attempts": number,
"name": string | null,
"output": Json | null,
"priority": number,
"queue_at": string | null,
"queue_rank": number,
"run_at": string,
"seq": number,
"started_at": string | null,
"status": string,
"step_order": number,
"tenant_id": string | null,
"updated_at": string
            }
                          SetofOptions: {
        from: "*"
        to: "job_steps"
        isOneToOne: true
        isSetofReturn: false
      } },
"_invocations_wanted":
{ Args: Record<PropertyKey, never>; Returns: Record<string, unknown>
                           },
"_json_fraction":
{ Args: { "p_function": string,"p_path": string,"p_value": Json }; Returns: number
                           },
"_json_int":
{ Args: { "p_function": string,"p_max": number,"p_min": number,"p_path": string,"p_value": Json }; Returns: number
                           },
"_json_interval":
{ Args: { "p_function": string,"p_path": string,"p_value": Json }; Returns: string
                           },
"_json_preview":
{ Args: { "p_value": Json }; Returns: string
                           },
"_json_text":
{ Args: { "p_function": string,"p_max_length": number,"p_path": string,"p_value": Json }; Returns: string
                           },
"_json_timestamptz":
{ Args: { "p_function": string,"p_path": string,"p_value": Json }; Returns: string
                           },
"_kick_workers":
{ Args: Record<PropertyKey, never>; Returns: boolean
                           },
"_lane_tenant":
{ Args: { "p_tenant_id": string }; Returns: string
                           },
"_lease_expired_error":
{ Args: { "p_attempt": number,"p_lease_expires_at": string,"p_max_attempts": number,"p_worker_id": string }; Returns: Json
                           },
"_live_invocations":
{ Args: Record<PropertyKey, never>; Returns: number
                           },
"_lock_held_jobs":
{ Args: { "p_step_ids": (string)[],"p_worker_id": string }; Returns: (string)[]
                           },
"_lock_job":
{ Args: { "p_group_key": string,"p_job_id": string,"p_tenant_id": string }; Returns: undefined
                           },
"_lock_job_for_caller":
{ Args: { "p_function": string,"p_job_id": string }; Returns: {
              "attempt": number,
"completed_by": string | null,
"created_at": string,
"dedupe_key": string | null,
"enqueue_order": number,
"error": Json | null,
"finished_at": string | null,
"group_key": string | null,
"id": string,
"lease_expires_at": string | null,
"locked_by": string | null,
"max_attempts": number | null,
"own_step_id": string | null,
"payload": NonNullable<Json>,
"priority": number,
"queue_at": string | null,
"queue_rank": number,
"result": Json | null,
"run_at": string,
"started_at": string | null,
"status": string,
"step_count": number | null,
"step_error": Json | null,
"step_name": string | null,
"step_seq": number,
"step_started_at": string | null,
"tenant_id": string | null,
"type": string | null,
"updated_at": string
            }
                          SetofOptions: {
        from: "*"
        to: "jobs"
        isOneToOne: true
        isSetofReturn: false
      } },
"_lock_lane":
{ Args: { "p_group_key": string,"p_tenant_id": string,"p_wait": boolean }; Returns: boolean
                           },
"_lower_claim_floor":
{ Args: { "p_queue_ats": (string)[],"p_queue_ranks": (number)[] }; Returns: undefined
                           },
"_new_ids":
{ Args: { "p_count": number }; Returns: (string)[]
                           },
"_own_step_jobs":
{ Args: { "p_step_ids": (string)[] }; Returns: (string)[]
                           },
"_queue_due_steps":
{ Args: { "p_limit": number }; Returns: number
                           },
"_queue_places":
{ Args: { "p_priorities": (number)[],"p_run_ats": (string)[],"p_tenant_ids": (string)[] }; Returns: {
              "ord": number,"queue_at": string,"queue_rank": number
            }[]
                           },
"_queue_turn":
{ Args: { "p_priority": number,"p_tenant_id": string }; Returns: Record<string, unknown>
                           },
"_raise_claim_floor":
{ Args: Record<PropertyKey, never>; Returns: undefined
                           },
"_recent_completions_per_second":
{ Args: { "p_type": string }; Returns: number
                           },
"_require_id":
{ Args: { "p_argument": string,"p_function": string,"p_id": string }; Returns: undefined
                           },
"_require_known_keys":
{ Args: { "p_allowed": (string)[],"p_function": string,"p_object": Json,"p_path": string }; Returns: undefined
                           },
"_require_positive_lease":
{ Args: { "p_function": string,"p_lease_duration": string }; Returns: undefined
                           },
"_require_worker_id":
{ Args: { "p_function": string,"p_worker_id": string }; Returns: undefined
                           },
"_results_batch":
{ Args: { "p_function": string,"p_results": Json }; Returns: Record<string, unknown>
                           },
"_retry_delay":
{ Args: { "p_attempt": number,"p_type": string }; Returns: string
                           },
"_runs_on_job_row":
{ Args: { "p_steps": Json }; Returns: boolean
                           },
"_serve_claim_turn":
{ Args: { "p_turn": string }; Returns: undefined
                           },
"_start_due_jobs":
{ Args: { "p_limit": number }; Returns: number
                           },
"_start_jobs":
{ Args: { "p_job_ids": (string)[] }; Returns: number
                           },
"_take_enqueue_tokens":
{ Args: { "p_count": number,"p_function": string }; Returns: undefined
                           },
"_type_max_attempts":
{ Args: { "p_type": string }; Returns: number
                           },
"_uuid_or_null":
{ Args: { "p_text": string }; Returns: string
                           },
"_visible_job":
{ Args: { "p_function": string,"p_job_id": string }; Returns: {
              "attempt": number,
"completed_by": string | null,
"created_at": string,
"dedupe_key": string | null,
"enqueue_order": number,
"error": Json | null,
"finished_at": string | null,
"group_key": string | null,
"id": string,
"lease_expires_at": string | null,
"locked_by": string | null,
"max_attempts": number | null,
"own_step_id": string | null,
"payload": NonNullable<Json>,
"priority": number,
"queue_at": string | null,
"queue_rank": number,
"result": Json | null,
"run_at": string,
"started_at": string | null,
"status": string,
"step_count": number | null,
"step_error": Json | null,
"step_name": string | null,
"step_seq": number,
"step_started_at": string | null,
"tenant_id": string | null,
"type": string | null,
"updated_at": string
            }
                          SetofOptions: {
        from: "*"
        to: "jobs"
        isOneToOne: true
        isSetofReturn: false
      } },
"_wake_workers":
{ Args: { "p_count": number,"p_reason": string }; Returns: number
                           },
"cancel_job":
{ Args: { "p_job_id": string,"p_reason"?: string }; Returns: {
              "attempt": number,
"completed_by": string | null,
"created_at": string,
"dedupe_key": string | null,
"enqueue_order": number,
"error": Json | null,
"finished_at": string | null,
"group_key": string | null,
"id": string,
"lease_expires_at": string | null,
"locked_by": string | null,
"max_attempts": number | null,
"own_step_id": string | null,
"payload": NonNullable<Json>,
"priority": number,
"queue_at": string | null,
"queue_rank": number,
"result": Json | null,
"run_at": string,
"started_at": string | null,
"status": string,
"step_count": number | null,
"step_error": Json | null,
"step_name": string | null,
"step_seq": number,
"step_started_at": string | null,
"tenant_id": string | null,
"type": string | null,
"updated_at": string
            }
                          SetofOptions: {
        from: "*"
        to: "jobs"
        isOneToOne: true
        isSetofReturn: false
      } },
"claim_next_step":
{ Args: { "p_lease_duration"?: string,"p_worker_id": string }; Returns: {
              "attempt": number,
"completed_by": string | null,
"created_at": string,
"error": Json | null,
"finished_at": string | null,
"id": string,
"input": Json | null,
"job_id": string,
"lease_expires_at": string | null,
"locked_by": string | null,
"max_attempts": number,
"name": string | null,
"output": Json | null,
"priority": number,
"queue_at": string | null,
"queue_rank": number,
"run_at": string,
"seq": number,
"started_at": string | null,
"status": string,
"step_order": number,
"tenant_id": string | null,
"updated_at": string
            }[]
                          SetofOptions: {
        from: "*"
        to: "job_steps"
        isOneToOne: false
        isSetofReturn: true
      } },
"claim_steps":
{ Args: { "p_lease_duration": string,"p_limit"?: number,"p_types"?: (string)[],"p_worker_id": string }; Returns: {
              "attempt": number,"group_key": string,"input": Json,"job_id": string,"job_type": string,"lease_expires_at": string,"max_attempts": number,"payload": Json,"previous_outputs": Json,"priority": number,"seq": number,"step_id": string,"step_name": string,"tenant_id": string,"timeout_ms": number
            }[]
                           },
"claimable_job_types":
{ Args: Record<PropertyKey, never>; Returns: (string)[]
                           },
"complete_and_claim_steps":
{ Args: { "p_lease_duration"?: string,"p_results": Json,"p_worker_id": string }; Returns: {
              "attempt": number,"completed_step_ids": (string)[],"group_key": string,"input": Json,"job_id": string,"job_type": string,"lease_expires_at": string,"max_attempts": number,"payload": Json,"previous_outputs": Json,"priority": number,"seq": number,"step_id": string,"step_name": string,"tenant_id": string,"timeout_ms": number
            }[]
                           },
"complete_step":
{ Args: { "p_output": Json,"p_step_id": string,"p_worker_id": string }; Returns: {
              "attempt": number,
"completed_by": string | null,
"created_at": string,
"error": Json | null,
"finished_at": string | null,
"id": string,
"input": Json | null,
"job_id": string,
"lease_expires_at": string | null,
"locked_by": string | null,
"max_attempts": number,
"name": string | null,
"output": Json | null,
"priority": number,
"queue_at": string | null,
"queue_rank": number,
"run_at": string,
"seq": number,
"started_at": string | null,
"status": string,
"step_order": number,
"tenant_id": string | null,
"updated_at": string
            }[]
                          SetofOptions: {
        from: "*"
        to: "job_steps"
        isOneToOne: false
        isSetofReturn: true
      } },
"complete_steps":
{ Args: { "p_results": Json,"p_worker_id": string }; Returns: {
              "attempt": number,
"completed_by": string | null,
"created_at": string,
"error": Json | null,
"finished_at": string | null,
"id": string,
"input": Json | null,
"job_id": string,
"lease_expires_at": string | null,
"locked_by": string | null,
"max_attempts": number,
"name": string | null,
"output": Json | null,
"priority": number,
"queue_at": string | null,
"queue_rank": number,
"run_at": string,
"seq": number,
"started_at": string | null,
"status": string,
"step_order": number,
"tenant_id": string | null,
"updated_at": string
            }[]
                          SetofOptions: {
        from: "*"
        to: "job_steps"
        isOneToOne: false
        isSetofReturn: true
      } },
"define_job_type":
{ Args: { "p_options"?: Json,"p_steps": Json,"p_type": string }; Returns: undefined
                           },
"enqueue_job":
{ Args: { "p_options"?: Json,"p_payload"?: Json,"p_type": string }; Returns: {
              "attempt": number,
"completed_by": string | null,
"created_at": string,
"dedupe_key": string | null,
"enqueue_order": number,
"error": Json | null,
"finished_at": string | null,
"group_key": string | null,
"id": string,
"lease_expires_at": string | null,
"locked_by": string | null,
"max_attempts": number | null,
"own_step_id": string | null,
"payload": NonNullable<Json>,
"priority": number,
"queue_at": string | null,
"queue_rank": number,
"result": Json | null,
"run_at": string,
"started_at": string | null,
"status": string,
"step_count": number | null,
"step_error": Json | null,
"step_name": string | null,
"step_seq": number,
"step_started_at": string | null,
"tenant_id": string | null,
"type": string | null,
"updated_at": string
            }
                          SetofOptions: {
        from: "*"
        to: "jobs"
        isOneToOne: true
        isSetofReturn: false
      } },
"enqueue_jobs":
{ Args: { "p_options"?: Json,"p_payloads": Json,"p_type": string }; Returns: string[]
                           },
"extend_lease":
{ Args: { "p_lease_duration": string,"p_step_id": string,"p_worker_id": string }; Returns: {
              "attempt": number,
"completed_by": string | null,
"created_at": string,
"error": Json | null,
"finished_at": string | null,
"id": string,
"input": Json | null,
"job_id": string,
"lease_expires_at": string | null,
"locked_by": string | null,
"max_attempts": number,
"name": string | null,
"output": Json | null,
"priority": number,
"queue_at": string | null,
"queue_rank": number,
"run_at": string,
"seq": number,
"started_at": string | null,
"status": string,
"step_order": number,
"tenant_id": string | null,
"updated_at": string
            }[]
                          SetofOptions: {
        from: "*"
        to: "job_steps"
        isOneToOne: false
        isSetofReturn: true
      } },
"extend_leases":
{ Args: { "p_lease_duration": string,"p_step_ids": (string)[],"p_worker_id": string }; Returns: string[]
                           },
"fail_step":
{ Args: { "p_error": Json,"p_permanent"?: boolean,"p_retry_in"?: string,"p_step_id": string,"p_worker_id": string }; Returns: {
              "attempt": number,
"completed_by": string | null,
"created_at": string,
"error": Json | null,
"finished_at": string | null,
"id": string,
"input": Json | null,
"job_id": string,
"lease_expires_at": string | null,
"locked_by": string | null,
"max_attempts": number,
"name": string | null,
"output": Json | null,
"priority": number,
"queue_at": string | null,
"queue_rank": number,
"run_at": string,
"seq": number,
"started_at": string | null,
"status": string,
"step_order": number,
"tenant_id": string | null,
"updated_at": string
            }[]
                          SetofOptions: {
        from: "*"
        to: "job_steps"
        isOneToOne: false
        isSetofReturn: true
      } },
"fail_steps":
{ Args: { "p_failures": Json,"p_worker_id": string }; Returns: {
              "attempt": number,
"completed_by": string | null,
"created_at": string,
"error": Json | null,
"finished_at": string | null,
"id": string,
"input": Json | null,
"job_id": string,
"lease_expires_at": string | null,
"locked_by": string | null,
"max_attempts": number,
"name": string | null,
"output": Json | null,
"priority": number,
"queue_at": string | null,
"queue_rank": number,
"run_at": string,
"seq": number,
"started_at": string | null,
"status": string,
"step_order": number,
"tenant_id": string | null,
"updated_at": string
            }[]
                          SetofOptions: {
        from: "*"
        to: "job_steps"
        isOneToOne: false
        isSetofReturn: true
      } },
"get_job":
{ Args: { "p_job_id": string }; Returns: Json
                           },
"group_jobs":
{ Args: { "p_group_key": string,"p_limit"?: number }; Returns: Json
                           },
"heartbeat_worker":
{ Args: { "p_worker_id": string }; Returns: {
              "id": string,
"kind": string,
"last_heartbeat_at": string,
"metadata": NonNullable<Json>,
"started_at": string,
"stopped_at": string | null
            }[]
                          SetofOptions: {
        from: "*"
        to: "workers"
        isOneToOne: false
        isSetofReturn: true
      } },
"job_events":
{ Args: { "p_job_id": string }; Returns: Json
                           },
"job_events_many":
{ Args: { "p_job_ids": (string)[] }; Returns: Json
                           },
"job_first_claimed_at":
{ Args: { "p_job_id": string }; Returns: string
                           },
"job_json":
{ Args: { "p_job": Omit<Database["public"]['Tables']["jobs"]['Row'], Database["public"]['Tables']["jobs"]['ComputedFields']> }; Returns: Json
                           },
"job_queue_position":
{ Args: { "p_job_id": string }; Returns: {
              "estimated_wait": string,"queue_position": number
            }[]
                           },
"job_stats":
{ Args: { "p_type"?: string }; Returns: Json
                           },
"job_summary_json":
{ Args: { "p_job": Omit<Database["public"]['Tables']["jobs"]['Row'], Database["public"]['Tables']["jobs"]['ComputedFields']> }; Returns: Json
                           },
"job_throughput":
{ Args: { "p_minutes"?: number,"p_type"?: string }; Returns: Json
                           },
"list_jobs":
{ Args: { "p_created_after"?: string,"p_created_before"?: string,"p_cursor"?: string,"p_direction"?: string,"p_group_key"?: string,"p_limit"?: number,"p_priorities"?: (number)[],"p_search"?: string,"p_sort"?: string,"p_statuses"?: (string)[],"p_type"?: string }; Returns: Json
                           },
"next_claimable_at":
{ Args: { "p_types"?: (string)[] }; Returns: string
                           },
"register_worker":
{ Args: { "p_kind": string,"p_metadata"?: Json,"p_worker_id": string }; Returns: {
              "id": string,
"kind": string,
"last_heartbeat_at": string,
"metadata": NonNullable<Json>,
"started_at": string,
"stopped_at": string | null
            }
                          SetofOptions: {
        from: "*"
        to: "workers"
        isOneToOne: true
        isSetofReturn: false
      } },
"release_steps":
{ Args: { "p_step_ids"?: (string)[],"p_worker_id": string }; Returns: {
              "attempt": number,
"completed_by": string | null,
"created_at": string,
"error": Json | null,
"finished_at": string | null,
"id": string,
"input": Json | null,
"job_id": string,
"lease_expires_at": string | null,
"locked_by": string | null,
"max_attempts": number,
"name": string | null,
"output": Json | null,
"priority": number,
"queue_at": string | null,
"queue_rank": number,
"run_at": string,
"seq": number,
"started_at": string | null,
"status": string,
"step_order": number,
"tenant_id": string | null,
"updated_at": string
            }[]
                          SetofOptions: {
        from: "*"
        to: "job_steps"
        isOneToOne: false
        isSetofReturn: true
      } },
"retry_job":
{ Args: { "p_job_id": string }; Returns: {
              "attempt": number,
"completed_by": string | null,
"created_at": string,
"dedupe_key": string | null,
"enqueue_order": number,
"error": Json | null,
"finished_at": string | null,
"group_key": string | null,
"id": string,
"lease_expires_at": string | null,
"locked_by": string | null,
"max_attempts": number | null,
"own_step_id": string | null,
"payload": NonNullable<Json>,
"priority": number,
"queue_at": string | null,
"queue_rank": number,
"result": Json | null,
"run_at": string,
"started_at": string | null,
"status": string,
"step_count": number | null,
"step_error": Json | null,
"step_name": string | null,
"step_seq": number,
"step_started_at": string | null,
"tenant_id": string | null,
"type": string | null,
"updated_at": string
            }
                          SetofOptions: {
        from: "*"
        to: "jobs"
        isOneToOne: true
        isSetofReturn: false
      } },
"stop_worker":
{ Args: { "p_metadata"?: Json,"p_worker_id": string }; Returns: {
              "id": string,
"kind": string,
"last_heartbeat_at": string,
"metadata": NonNullable<Json>,
"started_at": string,
"stopped_at": string | null
            }[]
                          SetofOptions: {
        from: "*"
        to: "workers"
        isOneToOne: false
        isSetofReturn: true
      } },
"sweep":
{ Args: Record<PropertyKey, never>; Returns: Json
                           },
"tick":
{ Args: Record<PropertyKey, never>; Returns: Json
                           }
          }
          Enums: {
            [_ in never]: never
          }
          CompositeTypes: {
            [_ in never]: never
          }
        }
}

type DatabaseWithoutInternals = Omit<Database, '__InternalSupabase'>

type DefaultSchema = DatabaseWithoutInternals[Extract<keyof Database, "public">]

export type Tables<
  DefaultSchemaTableNameOrOptions extends
    | keyof (DefaultSchema["Tables"] & DefaultSchema["Views"])
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof (DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"] &
        DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Views"])
    : never = never
> = DefaultSchemaTableNameOrOptions extends { schema: keyof DatabaseWithoutInternals }
  ? (DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"] &
      DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Views"])[TableName] extends {
      Row: infer R
    }
    ? R
    : never
  : DefaultSchemaTableNameOrOptions extends keyof (DefaultSchema["Tables"] & DefaultSchema["Views"])
  ? (DefaultSchema["Tables"] & DefaultSchema["Views"])[DefaultSchemaTableNameOrOptions] extends {
      Row: infer R
    }
    ? R
    : never
  : never

export type TablesInsert<
  DefaultSchemaTableNameOrOptions extends
    | keyof DefaultSchema["Tables"]
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"]
    : never = never
> = DefaultSchemaTableNameOrOptions extends { schema: keyof DatabaseWithoutInternals }
  ? DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"][TableName] extends {
      Insert: infer I
    }
    ? I
    : never
  : DefaultSchemaTableNameOrOptions extends keyof DefaultSchema["Tables"]
  ? DefaultSchema["Tables"][DefaultSchemaTableNameOrOptions] extends {
      Insert: infer I
    }
    ? I
    : never
  : never

export type TablesUpdate<
  DefaultSchemaTableNameOrOptions extends
    | keyof DefaultSchema["Tables"]
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"]
    : never = never
> = DefaultSchemaTableNameOrOptions extends { schema: keyof DatabaseWithoutInternals }
  ? DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"][TableName] extends {
      Update: infer U
    }
    ? U
    : never
  : DefaultSchemaTableNameOrOptions extends keyof DefaultSchema["Tables"]
  ? DefaultSchema["Tables"][DefaultSchemaTableNameOrOptions] extends {
      Update: infer U
    }
    ? U
    : never
  : never

export type Enums<
  DefaultSchemaEnumNameOrOptions extends
    | keyof DefaultSchema["Enums"]
    | { schema: keyof DatabaseWithoutInternals },
  EnumName extends DefaultSchemaEnumNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaEnumNameOrOptions["schema"]]["Enums"]
    : never = never
> = DefaultSchemaEnumNameOrOptions extends { schema: keyof DatabaseWithoutInternals }
  ? DatabaseWithoutInternals[DefaultSchemaEnumNameOrOptions["schema"]]["Enums"][EnumName]
  : DefaultSchemaEnumNameOrOptions extends keyof DefaultSchema["Enums"]
  ? DefaultSchema["Enums"][DefaultSchemaEnumNameOrOptions]
  : never

export type CompositeTypes<
  PublicCompositeTypeNameOrOptions extends
    | keyof DefaultSchema["CompositeTypes"]
    | { schema: keyof DatabaseWithoutInternals },
  CompositeTypeName extends PublicCompositeTypeNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[PublicCompositeTypeNameOrOptions["schema"]]["CompositeTypes"]
    : never = never
> = PublicCompositeTypeNameOrOptions extends { schema: keyof DatabaseWithoutInternals }
  ? DatabaseWithoutInternals[PublicCompositeTypeNameOrOptions["schema"]]["CompositeTypes"][CompositeTypeName]
  : PublicCompositeTypeNameOrOptions extends keyof DefaultSchema["CompositeTypes"]
  ? DefaultSchema["CompositeTypes"][PublicCompositeTypeNameOrOptions]
  : never

export const Constants = {
  "public": {
          Enums: {
            
          }
        }
} as const
