package api

// F10 trigger (spec/rest-api.md §3.9; 4.0.8 ComponentImpl.triggerFunction).
//
// Where we knowingly differ from 4.0.8: the payload is produced without a
// schema instead of with AUTO_PRODUCE_BYTES, so it is not checked against
// the input topic's schema here (a consumer with a schema still decodes it).

import (
	"errors"
	"fmt"
	"io"
	"net/http"
)

const maxTriggerBytes = 16 << 20

// triggerForm is the trigger request's parts: data (text), dataStream
// (file) and topic; nil where the part is missing.
type triggerForm struct {
	data, dataStream, topic *string
}

func readTriggerForm(r *http.Request) (*triggerForm, error) {
	mr, err := r.MultipartReader()
	if errors.Is(err, http.ErrNotMultipart) {
		return nil, fail(http.StatusUnsupportedMediaType, "Unsupported Media Type")
	}
	if err != nil {
		return nil, fail(http.StatusBadRequest, "Bad Request")
	}
	f := &triggerForm{}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return f, nil
		}
		if err != nil {
			return nil, fail(http.StatusBadRequest, "Bad Request")
		}
		var dst **string
		switch part.FormName() {
		case "data":
			dst = &f.data
		case "dataStream":
			dst = &f.dataStream
		case "topic":
			dst = &f.topic
		}
		if dst == nil || *dst != nil { // unknown, or not the first of its name
			part.Close()
			continue
		}
		b, err := io.ReadAll(io.LimitReader(part, maxTriggerBytes+1))
		part.Close()
		if err != nil || len(b) > maxTriggerBytes {
			return nil, fail(http.StatusBadRequest, "Bad Request")
		}
		v := string(b)
		*dst = &v
	}
}

func (s *Server) triggerFunction(w http.ResponseWriter, r *http.Request) error {
	form, err := readTriggerForm(r)
	if err != nil {
		return err
	}
	if err := s.checkInitialized(); err != nil {
		return err
	}
	t, ns, name := r.PathValue("tenant"), r.PathValue("namespace"), r.PathValue("name")
	if err := s.authorizeFunctions(r, t, ns); err != nil {
		return err
	}
	if _, _, _, err := pathParams(r, true); err != nil {
		return err
	}
	if form.data == nil && form.dataStream == nil {
		return fail(http.StatusBadRequest, "Trigger Data is not provided")
	}
	// Java looks the name up without checking its kind.
	md, ok := s.functions.Function(t, ns, name)
	if !ok {
		return fail(http.StatusNotFound, "Function %s doesn't exist", name)
	}
	fd := md.GetFunctionDetails()
	inputs := fd.GetSource().GetInputSpecs()
	var input string
	switch {
	case form.topic != nil:
		input = *form.topic
	case len(inputs) == 1:
		for k := range inputs {
			input = k
		}
	default:
		return fail(http.StatusBadRequest, "Function in trigger function has more than 1 input topics")
	}
	if _, ok := inputs[input]; !ok {
		return fail(http.StatusBadRequest, "Function in trigger function has unidentified topic")
	}
	if s.lifecycle == nil {
		return fail(http.StatusInternalServerError, "trigger is not available on this worker")
	}
	if err := s.lifecycle.TopicReady(r.Context(), input); err != nil {
		s.log.Debug("trigger: input topic not ready", "topic", input, "err", err)
		return fail(http.StatusBadRequest, "Function in trigger function is not ready")
	}
	payload := form.dataStream
	if payload == nil {
		payload = form.data
	}
	out, err := s.lifecycle.Trigger(r.Context(), TriggerRequest{
		FQFN:        fqfnOf(t, ns, name),
		InputTopic:  input,
		OutputTopic: fd.GetSink().GetTopic(),
		Payload:     []byte(*payload),
	})
	switch {
	case errors.Is(err, ErrTriggerTimeout):
		return fail(http.StatusRequestTimeout, "Request Timed Out")
	case errors.Is(err, ErrTriggerSchema):
		return fail(http.StatusBadRequest, "%s", fmt.Sprintf("Failed to serialize input with error: %s. "+
			"Please check if input data conforms with the schema of the input topic.", err.Error()))
	case err != nil:
		return fail(http.StatusInternalServerError, "%s", err.Error())
	case out == nil:
		// Java returns a null String: no output topic.
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
	return nil
}
