pipeline {
    agent any
    options {
        echo('not an option')  // <-- option-type
    }
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
